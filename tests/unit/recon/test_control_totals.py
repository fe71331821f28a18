import json
from datetime import UTC, datetime

import pandas as pd

from acorn.channels.demo.generator import generate
from acorn.normalize import normalize
from acorn.recon.control_totals import money_identity

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def test_an_unreadable_row_does_not_excuse_a_control_total_that_does_not_add_up(accounts, taxonomy):
    canonical = normalize(generate(accounts["amazon-na"], DAY, DAY.replace(hour=2)), taxonomy, b"k")
    refunds = canonical.refund_lines[canonical.refund_lines["currency"].eq("USD")]
    # one refund whose amount could not be read (28.29 USD as text): it is in no control total
    line_ids = canonical.order_lines.set_index("line_uid")["external_line_id"]
    lost = refunds.iloc[[0]].assign(external_line_id=lambda r: r["line_uid"].map(line_ids))
    q = pd.concat([canonical.quarantine, _as_unreadable(lost)], ignore_index=True)
    kept = refunds.iloc[1:]
    readable = q[q["entity"].eq("refund_lines") & q["amount_minor"].notna()]
    exact = {"USD": int(kept["amount_minor"].sum())}
    for ccy, total in readable.groupby("currency")["amount_minor"].sum().items():
        exact[str(ccy)] = exact.get(str(ccy), 0) + int(total)
    lines = canonical.order_lines
    assert money_identity(exact, kept, q, lines)["success"]
    # the channel's total holds the unreadable row's own amount: its order line could have held that much
    own = int(refunds["amount_minor"].iloc[0])
    with_it = money_identity({**exact, "USD": exact["USD"] + own}, kept, q, lines)
    assert with_it["success"]
    assert with_it["attributed_to_unreadable_minor"] == {"USD": own}
    inflated = {**exact, "USD": exact["USD"] + own + 100_000_000}  # 1,000,000.00 USD more than that
    held = money_identity(inflated, kept, q, lines)
    assert not held["success"]  # passed before: one unreadable row excused any difference
    assert held["differences_minor"] == {"USD": own + 100_000_000}
    assert held["unreadable_quarantined_rows"] == 1
    assert not money_identity({**exact, "USD": exact["USD"] + own}, kept, q)["success"]  # no line known


def _as_unreadable(rows: pd.DataFrame) -> pd.DataFrame:
    from acorn.normalize import empty_quarantine

    return (
        pd.DataFrame(
            {
                "account_id": "amazon-na",
                "entity": "refund_lines",
                "source_file": "",
                "source_row": 1,
                "source_key": rows["external_refund_id"].astype("string"),
                "field": "amount",
                "reason": "not a decimal amount",
                "check_name": "parse",
                "currency": "USD",
                "amount_minor": pd.NA,
                "raw_record": [json.dumps({"external_line_id": x}) for x in rows["external_line_id"]],
            }
        )
        .reindex(columns=empty_quarantine().columns)
        .astype(empty_quarantine().dtypes.to_dict())
    )
