"""The review task's body: the counts and money, the link to the page, what each answer does."""

from __future__ import annotations

from acorn.review.requests import ON_THE_PAGE, briefing_markdown

SUMMARY = {"items": 3, "by_account": {"amazon-jp": {"items": 3, "kinds": {"refund_decision": 3},
                                                    "amounts_minor": {"JPY": 12000}}}}  # fmt: skip


def test_the_briefing_links_to_the_page_on_exactly_these_items():
    body = briefing_markdown(SUMMARY, page_link="http://airflow:8080/acorn/review/?request_id=abc")
    assert (
        "[Decide them line by line on the reviewer's page](http://airflow:8080/acorn/review/?request_id=abc)"
        in body
    )
    assert "| amazon-jp | 3 | refund_decision: 3 | 12,000 JPY |" in body
    assert ON_THE_PAGE in body


def test_without_a_link_the_briefing_still_reads():
    body = briefing_markdown(SUMMARY)
    assert "reviewer's page](" not in body
    assert body.startswith("**3 open review items**")
