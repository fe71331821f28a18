"""The review task's own check: a request whose items were all answered on the page asks nobody."""

from __future__ import annotations


def test_a_request_answered_on_the_page_before_the_task_asks_is_answered_at_once(
    monkeypatch,
    loader_dsn,
    conn,
    two_accounts,
):
    from acorn.review.answers import answer_items
    from acorn.review.requests import ON_THE_PAGE, open_request
    from acorn_airflow.review import _answered_on_the_page

    monkeypatch.setenv("AIRFLOW_CONN_ACORN_WAREHOUSE", loader_dsn)
    request = open_request(conn, dag_id="acorn_refunds_hourly", run_id="r1",
                           batch_ids=[r.batch_id for r in two_accounts.values()], missing_accounts=[])  # fmt: skip
    answer_items(conn, request.item_ids[:-1], "approved", responded_by="alice")
    assert _answered_on_the_page(request.request_id) is None  # one is still open: the task asks
    answer_items(conn, request.item_ids[-1:], "rejected", responded_by="alice")
    answered = _answered_on_the_page(request.request_id)
    assert answered["chosen_options"] == [ON_THE_PAGE]
    assert answered["params_input"]["request_id"] == request.request_id
    assert _answered_on_the_page(None) is None
