"""Answer waiting review tasks the way the Required Actions page does, for the demo and the tests.

``dag.test()`` keeps a run alive while a Human-in-the-loop task waits for input recorded from outside. The
``Reviewer`` here is that outside: a thread that finds the run's waiting HITL tasks in Airflow's metadata
database, submits the form as stored (with its filled-in fields, such as the review request's id) and an
option, and resumes the task exactly as the Core API's HITL endpoint does. Nothing in production uses it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Reviewer:
    """Who answers, and what: one option and a comment for every waiting review task of ``dag_ids``."""

    user_id: str
    user_name: str
    chosen: str = "Approve"
    comment: str = ""
    answered: list[dict] = field(default_factory=list)

    def answer_waiting(self) -> int:
        """Answer every HITL task now waiting for input; returns how many were answered."""
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.trigger import handle_event_submit
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import select

        from acorn_airflow.hitl import stored_params, submit

        done = 0
        with create_session() as session:
            waiting = session.scalars(
                select(TaskInstance).where(TaskInstance.state == TaskInstanceState.AWAITING_INPUT)
            ).all()
            for ti in waiting:
                detail = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == ti.id))
                if detail is None:
                    continue
                if detail.response_received:
                    # answered, yet still parked: dag.test()'s own loop wrote the task's state back over the
                    # resume (seen once in 25 runs of make demo under load). Resume it again.
                    handle_event_submit(
                        TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session
                    )
                    log.info(
                        "resumed %s of %s again: it was answered but still waiting", ti.task_id, ti.run_id
                    )
                    continue
                params = {**stored_params(detail), "comment": self.comment}
                submit(session, ti, detail, user_id=self.user_id, user_name=self.user_name, chosen=self.chosen,
                       params=params)  # fmt: skip
                self.answered.append({"run_id": ti.run_id, "task_id": ti.task_id, "params": params})
                done += 1
        return done


@contextmanager
def answering(reviewer: Reviewer, every_s: float = 0.5) -> Iterator[Reviewer]:
    """Run ``reviewer`` in the background while the block runs (``dag.test()`` waits for it)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                reviewer.answer_waiting()
            except Exception:  # a busy SQLite metadata DB: the next round tries again
                log.debug("answering waiting reviews failed; retrying", exc_info=True)

    thread = threading.Thread(target=loop, name="acorn-reviewer", daemon=True)
    thread.start()
    try:
        yield reviewer
    finally:
        stop.set()
        thread.join()
