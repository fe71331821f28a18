"""Who is asking, and may they: the Airflow UI's own token (its ``_token`` cookie, or a bearer token from
``POST /auth/token``), checked by Airflow's auth manager, for every endpoint of the page.

Plugin apps are not protected by Airflow by default. Here every route depends on one of these checks:
no token 401, an expired one 401, a forged one 403, a user without the permission 403. The permissions are
Airflow's own, so an admin grants them as they grant Required Actions: reading the review tasks of ACORN's
DAGs to see the queue, answering them to answer items, and editing the kill switch's Variable to toggle it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, HTTPException, status

from acorn_airflow.resources import PAUSE_VARIABLE

#: The DAGs whose review items the page shows; a reviewer needs their review task permission on each.
REVIEW_DAGS = ("acorn_refunds_hourly", "acorn_refunds_daily")


@dataclass(frozen=True)
class Reviewer:
    user: Any
    id: str
    name: str
    can_answer: bool
    can_switch: bool


def _allowed_on_reviews(user: Any, method: str) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    manager = get_auth_manager()
    return all(
        manager.is_authorized_dag(
            method=method, access_entity=DagAccessEntity.HITL_DETAIL, details=DagDetails(id=dag), user=user
        )
        for dag in REVIEW_DAGS
    )


def _allowed_to_switch(user: Any) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import VariableDetails

    return get_auth_manager().is_authorized_variable(
        method="PUT", details=VariableDetails(key=PAUSE_VARIABLE), user=user
    )


def reviewer(user: Annotated[Any, Depends(get_user)]) -> Reviewer:
    """A logged-in user who may read ACORN's review tasks, else 403."""
    if not _allowed_on_reviews(user, "GET"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"user {user.get_name()} may not read ACORN's reviews")
    return Reviewer(
        user=user,
        id=str(user.get_id()),
        name=str(user.get_name()),
        can_answer=_allowed_on_reviews(user, "PUT"),
        can_switch=_allowed_to_switch(user),
    )


def answerer(who: Annotated[Reviewer, Depends(reviewer)]) -> Reviewer:
    if not who.can_answer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"user {who.name} may not answer ACORN's reviews")
    return who


def switcher(who: Annotated[Reviewer, Depends(reviewer)]) -> Reviewer:
    if not who.can_switch:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"user {who.name} may not change {PAUSE_VARIABLE}")
    return who


ReviewerDep = Annotated[Reviewer, Depends(reviewer)]
AnswererDep = Annotated[Reviewer, Depends(answerer)]
SwitcherDep = Annotated[Reviewer, Depends(switcher)]
