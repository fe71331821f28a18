"""What an answer on the reviewer's page does: the items' answers, then the review tasks it completes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

log = logging.getLogger(__name__)
REVIEW_TASK_ID = "review_batch"  # acorn_airflow.review.REVIEW_TASK_ID, without importing the DAG glue


def answer_and_go_on(
    ids: Sequence[str], answer: str, comment: str, *, user_id: str, user_name: str
) -> tuple[list[str], list[dict]]:
    """Answer the items (all or none) as ``user_name``; then every run's review task whose request has no
    open item left is answered "Answered on the page" in that user's name, so the run goes on without a
    second click. Returns the answered ids and the runs that went on."""
    from acorn.review.answers import answer_items, requests_answered_through
    from acorn.review.requests import ON_THE_PAGE
    from acorn_airflow.hitl import resume_review
    from acorn_airflow.resources import warehouse

    with warehouse() as conn:
        answered = answer_items(conn, ids, answer, responded_by=user_name, comment=comment)
        complete = requests_answered_through(conn, answered)
    resumed = []
    for request_id, dag_id, run_id in complete:
        said = f"every item of review request {request_id} was answered on the reviewer's page"
        if resume_review(dag_id, run_id, REVIEW_TASK_ID, user_id=user_id, user_name=user_name, chosen=ON_THE_PAGE,
                         comment=said):  # fmt: skip
            resumed.append({"dag_id": dag_id, "run_id": run_id, "request_id": request_id})
    log.info("%s answered %d review items %s; review tasks that went on: %s", user_name, len(answered), answer,
             resumed)  # fmt: skip
    return answered, resumed
