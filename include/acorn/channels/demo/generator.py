"""The demo channel: a seeded generator of realistic multi-channel refund data.

It answers like a channel export does: text columns, each channel's own reason and disposition codes,
amounts as decimal strings in the marketplace currency (JPY without decimals). For a seed, an account and a
data interval the output is always the same, hour by hour, so an hourly run and the daily re-read of the
same day see the same records; the daily one also sees the few that arrived late.

How the numbers are chosen (see shared reference "channels-and-domain" section 7):
- a line is refunded with its category's return rate: apparel 30%, electronics 11%, beauty 8%, home 7%
  (published ranges: apparel 25-40%, electronics 8-15%, beauty 5-12%, home 5-10%);
- a refund comes 1-30 days after delivery, most in the first week;
- Amazon accounts are 70% FBA (AFN) and 30% merchant-fulfilled (MFN); stores ship themselves;
- suspicious cases: 1.5% of refunds are refunded twice, 0.7% refund more than was paid, a small pool of
  serial returners takes 3% of refunds; 3% of refund events arrive 2-20 hours late; 1% of refund rows are
  malformed the way real exports are (comma decimals, bad dates, unknown currency, missing keys).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import numpy as np
import pandas as pd

from acorn.channels.base import ChannelAccount
from acorn.channels.raw import RAW_LINE_COLUMNS, RAW_ORDER_COLUMNS, RAW_REFUND_COLUMNS, RawBatch
from acorn.money import CURRENCY_EXPONENT, parse_minor

HOUR_NS = 3600 * 10**9
CATEGORIES = np.array(["apparel", "electronics", "beauty", "home"])
CATEGORY_WEIGHTS = np.array([0.35, 0.25, 0.2, 0.2])
RETURN_RATE = np.array([0.30, 0.11, 0.08, 0.07])
UNIT_PRICE_USD = np.array([35.0, 120.0, 20.0, 60.0])  # lognormal medians, in USD

#: Rough value of 1 USD in each currency, to price goods plausibly (prices only, never conversion).
PRICE_LEVEL = {"USD": 1.0, "CAD": 1.36, "MXN": 17.0, "GBP": 0.79, "EUR": 0.92, "JPY": 150.0}
#: Tax on top of the net price in each currency's home market (a generator's simplification).
TAX_RATE = {"USD": 0.07, "CAD": 0.13, "MXN": 0.16, "GBP": 0.20, "EUR": 0.19, "JPY": 0.10}

AMAZON_REASONS = {
    "apparel": (
        ["APPAREL_TOO_SMALL", "APPAREL_TOO_LARGE", "APPAREL_STYLE", "DEFECTIVE", "NOT_AS_DESCRIBED"],
        [0.3, 0.2, 0.2, 0.1, 0.2],
    ),
    "electronics": (
        ["DEFECTIVE", "NOT_COMPATIBLE", "MISSING_PARTS", "FOUND_BETTER_PRICE", "UNWANTED_ITEM"],
        [0.35, 0.2, 0.15, 0.15, 0.15],
    ),
    "beauty": (
        ["UNWANTED_ITEM", "QUALITY_UNACCEPTABLE", "SWITCHEROO", "ORDERED_WRONG_ITEM"],
        [0.4, 0.3, 0.1, 0.2],
    ),
    "home": (
        ["DAMAGED_BY_CARRIER", "DEFECTIVE", "NOT_AS_DESCRIBED", "UNWANTED_ITEM"],
        [0.3, 0.25, 0.2, 0.25],
    ),
}
AMAZON_TRANSIT_REASONS = (
    [
        "NEVER_ARRIVED",
        "DAMAGED_BY_FC",
        "UNDELIVERABLE_REFUSED",
        "MISSED_ESTIMATED_DELIVERY",
        "NEW_REASON_CODE_X7",
    ],
    [0.4, 0.3, 0.15, 0.1, 0.05],
)
SHOPIFY_REASONS = (
    [
        "SIZE_TOO_SMALL",
        "SIZE_TOO_LARGE",
        "STYLE",
        "COLOR",
        "DEFECTIVE",
        "NOT_AS_DESCRIBED",
        "WRONG_ITEM",
        "UNWANTED",
        "OTHER",
    ],
    [0.15, 0.12, 0.1, 0.08, 0.15, 0.12, 0.08, 0.15, 0.05],
)
MAGENTO_REASONS = (
    [
        "Wrong Size",
        "Changed Mind",
        "Defective",
        "Damaged in Shipping",
        "Not as Described",
        "Wrong Item",
        "Not Received",
        "Other",
        "Kunde unzufrieden",
    ],
    [0.2, 0.2, 0.15, 0.1, 0.12, 0.08, 0.08, 0.05, 0.02],
)


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _fmt_minor(minor: np.ndarray, currency: np.ndarray) -> pd.Series:
    """Minor units -> decimal strings in each currency's exponent ("12.30", "1500")."""
    minor = np.asarray(minor, dtype=np.int64)
    exp = pd.Series(currency).map(CURRENCY_EXPONENT).to_numpy()
    sign = np.where(minor < 0, "-", "")
    absv = np.abs(minor)
    whole = pd.Series(absv // 100).astype("string")
    cents = pd.Series(absv % 100).astype("string").str.zfill(2)
    with_dec = pd.Series(sign) + whole + "." + cents
    no_dec = pd.Series(sign) + pd.Series(absv).astype("string")
    return pd.Series(np.where(exp == 0, no_dec, with_dec), dtype="string")


def _fmt_ts(ts: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(ts, utc=True)).dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string")


def _choice(rng: np.random.Generator, options: tuple[list[str], list[float]], n: int) -> np.ndarray:
    values, weights = options
    w = np.asarray(weights) / np.sum(weights)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=w)]


def _hour(account: ChannelAccount, hour: datetime, seed: int, lines: int) -> dict[str, pd.DataFrame]:
    """Generate one hour of one account: new sales and the refunds whose events fall in this hour."""
    rng = np.random.default_rng(_seed(seed, account.id, hour.isoformat()))
    n = int(rng.poisson(lines)) if lines < 10_000 else lines
    hour_ns = np.int64(pd.Timestamp(hour).value)
    hour_tag = hour.strftime("%y%m%d%H")

    cat_idx = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_WEIGHTS)
    refunded = rng.random(n) < RETURN_RATE[cat_idx]
    # group lines into orders of 1-3 lines; an order is refunded-era if any of its lines is refunded
    new_order = rng.random(n) < 0.7
    new_order[:1] = True
    order_no = np.cumsum(new_order) - 1
    n_orders = int(order_no[-1]) + 1 if n else 0
    order_refunded = np.zeros(n_orders, dtype=bool)
    np.logical_or.at(order_refunded, order_no, refunded)

    markets = np.asarray(account.marketplaces, dtype=object)
    order_market = markets[rng.integers(0, len(markets), size=n_orders)]
    currency_of = {m: account.currency_of(m) for m in markets}
    order_ccy = np.array([currency_of[m] for m in order_market], dtype=object)

    if account.channel == "amazon":
        fulfil = np.where(rng.random(n_orders) < 0.7, "AFN", "MFN").astype(object)
        ship_method = np.where(
            fulfil == "AFN", "AMAZON", np.where(rng.random(n_orders) < 0.6, "BUY_SHIPPING", "SELLER_LABEL")
        ).astype(object)
    else:
        fulfil = np.full(n_orders, "STORE", dtype=object)
        ship_method = np.full(n_orders, "SELLER_LABEL", dtype=object)

    # timing: refund events land in this hour; their orders were bought days before
    day = np.int64(86_400 * 10**9)
    refund_ts = hour_ns + rng.integers(0, 3600 * 10**9, size=n)
    days_to_return = np.minimum(rng.exponential(6.0, size=n_orders), 29.0) + 1.0
    ship_delay = rng.uniform(0.2, 2.0, size=n_orders)
    transit = rng.uniform(1.0, 5.0, size=n_orders)
    first_refund = np.full(n_orders, np.iinfo(np.int64).max)
    np.minimum.at(first_refund, order_no[refunded], refund_ts[refunded])
    purchased = np.where(
        order_refunded,
        first_refund - ((days_to_return + ship_delay + transit) * day).astype(np.int64),
        hour_ns + rng.integers(0, 3600 * 10**9, size=n_orders),
    )
    shipped = purchased + (ship_delay * day).astype(np.int64)
    delivered = shipped + (transit * day).astype(np.int64)
    no_tracking = (fulfil == "MFN") & (rng.random(n_orders) < 0.1)
    shipped_late = rng.random(n_orders) < 0.05

    # prices in each order's currency
    line_ccy = order_ccy[order_no]
    level = np.array([PRICE_LEVEL[c] for c in line_ccy]) if n else np.array([])
    exp = np.array([CURRENCY_EXPONENT[c] for c in line_ccy], dtype=np.int64) if n else np.array([], np.int64)
    unit = UNIT_PRICE_USD[cat_idx] * rng.lognormal(0.0, 0.45, size=n) * level
    unit_minor = np.round(unit * 10.0**exp).astype(np.int64)
    unit_minor = np.where(exp == 0, np.maximum(10, unit_minor // 10 * 10), np.maximum(99, unit_minor))
    qty = np.where(rng.random(n) < 0.9, 1, rng.integers(2, 4, size=n)).astype(np.int64)
    principal = unit_minor * qty
    free_ship = (fulfil[order_no] == "AFN") | (rng.random(n) < 0.5)
    shipping = np.where(free_ship, 0, np.round(4.99 * level * 10.0**exp).astype(np.int64))
    tax_rate = np.array([TAX_RATE[c] for c in line_ccy]) if n else np.array([])
    tax = np.round((principal + shipping) * tax_rate).astype(np.int64)
    promotion = np.where(rng.random(n) < 0.1, principal // 10, 0)
    referral = np.where(account.channel == "amazon", np.round(principal * 0.15).astype(np.int64), 0)
    paid = principal + shipping + tax - promotion

    order_total = np.zeros(n_orders, dtype=np.int64)
    np.add.at(order_total, order_no, paid)

    prefix = {"amazon": "", "shopify": "SH", "magento": "MG", "csv": "CS"}[account.channel]
    acct_no = _seed(account.id) % 1000
    order_ids = pd.Series(
        [f"{prefix}{acct_no:03d}-{hour_tag[:7]}-{hour_tag[7:]}{i:06d}" for i in range(n_orders)],
        dtype="string",
    )
    if account.channel != "amazon":
        order_ids = pd.Series([f"{prefix}{hour_tag}{i:06d}" for i in range(n_orders)], dtype="string")
    line_ids = order_ids.iloc[order_no].reset_index(drop=True) + "-" + pd.Series(np.arange(n), dtype="string")
    buyers = rng.integers(0, 200_000, size=n_orders)

    orders = pd.DataFrame(
        {
            "external_order_id": order_ids,
            "marketplace": pd.Series(order_market, dtype="string"),
            "purchased_at": _fmt_ts(purchased),
            "currency": pd.Series(order_ccy, dtype="string"),
            "fulfillment_channel": pd.Series(fulfil, dtype="string"),
            "ship_method": pd.Series(ship_method, dtype="string"),
            "buyer_email": pd.Series([f"buyer{b}@example.invalid" for b in buyers], dtype="string"),
            "order_total": _fmt_minor(order_total, order_ccy),
        }
    )
    delivered_txt = _fmt_ts(delivered[order_no])
    delivered_txt[no_tracking[order_no]] = pd.NA
    order_lines = pd.DataFrame(
        {
            "external_line_id": line_ids,
            "external_order_id": order_ids.iloc[order_no].reset_index(drop=True),
            "sku": pd.Series(
                [
                    f"SKU-{c[:3].upper()}-{s:04d}"
                    for c, s in zip(CATEGORIES[cat_idx], rng.integers(0, 400, size=n), strict=True)
                ],
                dtype="string",
            ),
            "category": pd.Series(CATEGORIES[cat_idx], dtype="string"),
            "quantity": pd.Series(qty).astype("string"),
            "currency": pd.Series(line_ccy, dtype="string"),
            "principal": _fmt_minor(principal, line_ccy),
            "shipping": _fmt_minor(shipping, line_ccy),
            "tax": _fmt_minor(tax, line_ccy),
            "promotion": _fmt_minor(promotion, line_ccy),
            "referral_fee": _fmt_minor(referral, line_ccy),
            "shipped_at": _fmt_ts(shipped[order_no]),
            "delivered_at": delivered_txt,
            "shipped_late": pd.Series(np.where(shipped_late[order_no], "true", "false"), dtype="string"),
        }
    )

    refunds = _refunds(
        rng,
        account,
        refunded,
        order_no,
        order_ids,
        line_ids,
        order_market,
        line_ccy,
        fulfil,
        cat_idx,
        qty,
        principal,
        shipping,
        tax,
        promotion,
        refund_ts,
        delivered,
        buyers,
    )
    orders = _serial_returners(rng, orders, refunds)
    refunds = _malform(
        rng, refunds.assign(_amount_true=refunds["amount"], _currency_true=refunds["currency"])
    )
    return {"orders": orders, "order_lines": order_lines, "refunds": refunds}


def _serial_returners(rng: np.random.Generator, orders: pd.DataFrame, refunds: pd.DataFrame) -> pd.DataFrame:
    """A pool of 5 buyers stands behind 3% of refunds (flagged in ``_serial`` by :func:`_refunds`)."""
    targets = refunds.loc[refunds["_serial"].to_numpy(dtype=bool), "external_order_id"].unique()
    if not len(targets):
        return orders
    pool = np.array([f"buyer9{i:05d}@example.invalid" for i in range(5)], dtype=object)
    orders = orders.copy()
    hit = orders["external_order_id"].isin(targets).to_numpy()
    orders.loc[hit, "buyer_email"] = pool[rng.integers(0, len(pool), size=int(hit.sum()))]
    return orders


def _refunds(
    rng,
    account,
    refunded,
    order_no,
    order_ids,
    line_ids,
    order_market,
    line_ccy,
    fulfil,
    cat_idx,
    qty,
    principal,
    shipping,
    tax,
    promotion,
    refund_ts,
    delivered,
    buyers,
) -> pd.DataFrame:
    """Refund events for the refunded lines, with each channel's vocabulary and the suspicious cases."""
    idx = np.flatnonzero(refunded)
    m = len(idx)
    o = order_no[idx]
    ccy = line_ccy[idx]
    model = fulfil[o]
    transit_problem = rng.random(m) < 0.12
    if account.channel == "amazon":
        reason = np.empty(m, dtype=object)
        for ci, cat in enumerate(CATEGORIES):
            sel = cat_idx[idx] == ci
            reason[sel] = _choice(rng, AMAZON_REASONS[cat], int(sel.sum()))
        reason[transit_problem] = _choice(rng, AMAZON_TRANSIT_REASONS, int(transit_problem.sum()))
        # FC damage only happens where Amazon holds the stock
        reason[(reason == "DAMAGED_BY_FC") & (model == "MFN")] = "DAMAGED_BY_CARRIER"
        disposition = np.where(
            rng.random(m) < 0.65, "SELLABLE", np.where(rng.random(m) < 0.5, "CUSTOMER_DAMAGED", "DEFECTIVE")
        ).astype(object)
        disposition[reason == "DAMAGED_BY_FC"] = "WAREHOUSE_DAMAGED"
        disposition[reason == "DAMAGED_BY_CARRIER"] = "CARRIER_DAMAGED"
        disposition[model == "MFN"] = None
        event_type = _choice(rng, (["REFUND", "GUARANTEE_CLAIM", "CHARGEBACK"], [0.94, 0.03, 0.03]), m)
    elif account.channel == "shopify":
        reason = _choice(rng, SHOPIFY_REASONS, m)
        disposition = _choice(rng, (["RETURN", "NO_RESTOCK", "CANCEL"], [0.7, 0.2, 0.1]), m)
        event_type = _choice(rng, (["REFUND", "CHARGEBACK"], [0.97, 0.03]), m)
    else:
        reason = _choice(rng, MAGENTO_REASONS, m)
        disposition = _choice(rng, (["back_to_stock", "damaged", "not_returned"], [0.7, 0.2, 0.1]), m)
        event_type = _choice(rng, (["REFUND", "CHARGEBACK"], [0.97, 0.03]), m)
    not_returned = np.isin(reason, ["NEVER_ARRIVED", "UNDELIVERABLE_REFUSED", "Not Received"]) | (
        event_type != "REFUND"
    )
    returnless = not_returned | (rng.random(m) < 0.04)
    disposition = np.where(returnless, None, disposition)

    partial = rng.random(m) < 0.12
    p_principal = np.where(partial, principal[idx] // 2, principal[idx])
    seller_fault = np.isin(
        reason,
        [
            "DEFECTIVE",
            "NOT_AS_DESCRIBED",
            "DAMAGED_BY_CARRIER",
            "NEVER_ARRIVED",
            "SWITCHEROO",
            "Defective",
            "Damaged in Shipping",
            "WRONG_ITEM",
        ],
    )
    p_shipping = np.where(seller_fault & ~partial, shipping[idx], 0)
    p_tax = np.where(partial, tax[idx] // 2, tax[idx])
    p_promo = np.where(partial, promotion[idx] // 2, promotion[idx])
    restocking = np.where(
        (model != "AFN") & ~seller_fault & ~returnless & (rng.random(m) < 0.2), p_principal * 15 // 100, 0
    )
    over = rng.random(m) < 0.007
    p_principal = np.where(over, p_principal * 3 // 2, p_principal)
    amount = p_principal + p_shipping + p_tax - p_promo - restocking

    ts = refund_ts[idx]
    received = np.where(returnless, np.int64(0), ts - rng.integers(0, 2 * 86_400 * 10**9, size=m))
    received_txt = _fmt_ts(received)
    received_txt[returnless] = pd.NA
    serial = rng.random(m) < 0.03
    refund_ids = pd.Series([f"R{line_ids.iloc[i]}" for i in idx], dtype="string")

    frame = pd.DataFrame(
        {
            "external_refund_id": refund_ids,
            "external_line_id": line_ids.iloc[idx].reset_index(drop=True),
            "external_order_id": order_ids.iloc[o].reset_index(drop=True),
            "marketplace": pd.Series(order_market[o], dtype="string"),
            "event_type": pd.Series(event_type, dtype="string"),
            "refunded_at": _fmt_ts(ts),
            "currency": pd.Series(ccy, dtype="string"),
            "quantity": pd.Series(np.where(partial, 1, qty[idx])).astype("string"),
            "principal": _fmt_minor(p_principal, ccy),
            "shipping": _fmt_minor(p_shipping, ccy),
            "tax": _fmt_minor(p_tax, ccy),
            "promotion": _fmt_minor(p_promo, ccy),
            "restocking_fee": _fmt_minor(restocking, ccy),
            "amount": _fmt_minor(amount, ccy),
            "reason": pd.Series(reason, dtype="string"),
            "disposition": pd.Series(disposition, dtype="string"),
            "returnless": pd.Series(np.where(returnless, "true", "false"), dtype="string"),
            "return_received_at": received_txt,
            "_serial": serial,
            "_available_at": ts
            + np.where(rng.random(m) < 0.03, rng.integers(2 * 3600, 20 * 3600, size=m) * 10**9, 60 * 10**9),
        }
    )
    # a second refund on the same line, some minutes later: the classic duplicate
    dup = frame[rng.random(m) < 0.015].copy()
    if len(dup):
        dup["external_refund_id"] = dup["external_refund_id"] + "-2"
        later = pd.to_datetime(dup["refunded_at"]) + pd.to_timedelta(
            rng.integers(1, 50, size=len(dup)), "min"
        )
        hour_end = pd.Timestamp(int(refund_ts.min() // HOUR_NS * HOUR_NS + HOUR_NS - 10**9), tz="UTC")
        later = later.clip(upper=hour_end)
        dup["refunded_at"] = later.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string")
        frame = pd.concat([frame, dup], ignore_index=True)
    return frame


def _malform(rng: np.random.Generator, refunds: pd.DataFrame) -> pd.DataFrame:
    """Break about 1% of refund rows the way real exports break."""
    n = len(refunds)
    bad = np.flatnonzero(rng.random(n) < 0.01)
    kinds = rng.integers(0, 5, size=len(bad))
    out = refunds.copy()
    rows = out.index[bad]
    amounts = out.loc[rows[kinds == 0], "amount"]
    out.loc[amounts.index, "amount"] = amounts.str.replace(".", ",", regex=False)
    out.loc[rows[kinds == 1], "refunded_at"] = "31/02/2026 25:00"
    out.loc[rows[kinds == 2], "currency"] = "EURO"
    out.loc[rows[kinds == 3], "external_line_id"] = pd.NA
    out.loc[rows[kinds == 4], "quantity"] = "-1"
    return out


def generate(
    account: ChannelAccount,
    start: datetime,
    end: datetime,
    *,
    seed: int = 7,
    lines_per_hour: int = 60,
    as_of: datetime | None = None,
    refunds_only: bool = False,
) -> RawBatch:
    """Everything the demo channel reports for ``account`` in ``[start, end)``, as seen at ``as_of``.

    Orders and lines are those updated in the interval (new sales and orders that got a refund); refund
    events are those posted in the interval and already visible at ``as_of`` (default: ``end``).
    With ``refunds_only`` the new sales without a refund are left out (the benchmark's "N refund lines with
    their orders"), hour by hour, so memory follows the refunds, not the sales.
    """
    as_of = as_of or end
    hours = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="h", inclusive="left")
    parts = [_hour(account, h.to_pydatetime(), seed, lines_per_hour) for h in hours]
    if refunds_only:
        parts = [_refunded_part(p) for p in parts]
    frames = {
        k: pd.concat([p[k] for p in parts], ignore_index=True) for k in ("orders", "order_lines", "refunds")
    }
    refunds = frames["refunds"]
    if len(refunds):
        refunds = refunds[refunds["_available_at"] <= pd.Timestamp(as_of).value].reset_index(drop=True)
    control = _control_totals(refunds)
    refunds = refunds.reindex(columns=RAW_REFUND_COLUMNS)
    return RawBatch(
        account_id=account.id,
        channel=account.channel,
        orders=frames["orders"].reindex(columns=RAW_ORDER_COLUMNS).astype("string"),
        order_lines=frames["order_lines"].reindex(columns=RAW_LINE_COLUMNS).astype("string"),
        refunds=refunds.astype("string"),
        control_totals=control,
    )


def _refunded_part(part: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    refunds = part["refunds"]
    lines = part["order_lines"]
    lines = lines[lines["external_line_id"].isin(refunds["external_line_id"].dropna())]
    orders = part["orders"][part["orders"]["external_order_id"].isin(lines["external_order_id"])]
    return {"orders": orders, "order_lines": lines, "refunds": refunds}


def _control_totals(refunds: pd.DataFrame) -> dict[str, int]:
    """Per-currency totals of the refund amounts as the channel knows them, before any row was damaged."""
    if refunds.empty:
        return {}
    minor, _ = parse_minor(refunds["_amount_true"], refunds["_currency_true"])
    return {str(k): int(v) for k, v in minor.groupby(refunds["_currency_true"]).sum().items()}
