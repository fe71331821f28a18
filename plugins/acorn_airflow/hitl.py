"""Answer a waiting Human-in-the-loop task from inside Airflow, as the Core API's HITL endpoint does.

The reviewer's page uses it when its answers leave none of a review request's items open: the run's
``review_batch`` task then goes on without a second click, answered by the person who answered the last
item. The demo's and tests' ``Reviewer`` uses it to play the person at Required Actions.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def submit(
    session: Any, ti: Any, detail: Any, *, user_id: str, user_name: str, chosen: str, params: dict
) -> None:
    """Record ``chosen`` (and the form's ``params``) as ``user``'s answer and resume the task if it waits."""
    from airflow._shared.timezones import timezone
    from airflow.models.hitl import HITLUser
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.state import TaskInstanceState

    detail.responded_by = HITLUser(id=user_id, name=user_name)
    detail.responded_at = timezone.utcnow()
    detail.chosen_options = [chosen]
    detail.params_input = params
    session.add(detail)
    if ti.state in (TaskInstanceState.AWAITING_INPUT, TaskInstanceState.DEFERRED):
        handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)


def stored_params(detail: Any) -> dict:
    """The form's fields as the task filled them in (the review request's id among them)."""
    return {
        key: spec.get("value") if isinstance(spec, dict) else spec
        for key, spec in (detail.params or {}).items()
    }


def resume_review(dag_id: str, run_id: str, task_id: str, *, user_id: str, user_name: str, chosen: str,
                  comment: str) -> bool:  # fmt: skip
    """Answer the run's waiting review task with ``chosen``; False when it is not waiting (answered
    already, timed out, cleared)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalar(
            select(TaskInstance)
            .where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id
            )
            .with_for_update(of=TaskInstance)
        )
        if ti is None:
            return False
        detail = session.scalar(
            select(HITLDetail).where(HITLDetail.ti_id == ti.id).with_for_update(of=HITLDetail)
        )
        if detail is None or detail.response_received:
            return False
        submit(session, ti, detail, user_id=user_id, user_name=user_name, chosen=chosen,
               params={**stored_params(detail), "comment": comment})  # fmt: skip
    log.info("review task %s of %s/%s answered %r for %s", task_id, dag_id, run_id, chosen, user_name)
    return True
