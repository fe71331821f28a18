"""The decision engine: every refund line gets liability, category, cost, outcome and claim, vectorized.

Rules are evaluated as boolean masks over the whole frame, first match wins, so the cost is a handful of
numpy operations per rule whatever the batch size. Nothing here reads a file or a database: the caller
passes the policy, the rates, and the facts with their risk flags (:mod:`acorn.risk`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from acorn.columns import CodedColumns, id_positions, iso_utc, take_rows, text_rows
from acorn.money import CURRENCY_EXPONENT, convert_minor, div_half_even
from acorn.policy.fx import DAY_US, cross_rates
from acorn.policy.rules import SELECTABLE, Policy, Rule
from acorn.schema import uids
from acorn.tables import CLAIMS, DECISIONS

FLAG_NAMES = (
    "duplicate_refund",
    "exceeds_paid",
    "serial_returner",
    "fx_rate_missing",
    "order_context_missing",
)
#: Liable parties as codes for arithmetic in numpy (the counterparties, who can be claimed against, last).
PARTY_CODES = {"seller": 0, "customer": 1, "marketplace": 2, "carrier": 3}
SELLER, CUSTOMER, MARKETPLACE = PARTY_CODES["seller"], PARTY_CODES["customer"], PARTY_CODES["marketplace"]
#: The risk flags the rules select on (:func:`acorn.risk.flags.assess` gives them).
FLAG_FIELDS = ("duplicate_refund", "exceeds_paid", "buyer_refunds_90d", "serial_returner")


#: The text columns rules select on, per canonical entity. The decide task reads them from the landing as
#: categoricals (Parquet keeps them as dictionaries): :class:`CodedColumns` then takes their codes as they are
#: instead of encoding a million strings each.
CODED_COLUMNS: dict[str, tuple[str, ...]] = {
    "refund_lines": (
        "account_id",
        "channel",
        "marketplace",
        "event_type",
        "currency",
        "reason",
        "disposition",
    ),
    "order_lines": ("category",),
    "orders": ("fulfillment_model", "ship_method"),
}

#: What the rules need of a refund's order line and order (from the batch, or from the warehouse).
LINE_CONTEXT = (
    "line_uid",
    "category",
    "principal_minor",
    "shipping_minor",
    "tax_minor",
    "promotion_minor",
    "referral_fee_minor",
    "delivered_at",
    "shipped_late",
)
ORDER_CONTEXT = ("order_uid", "fulfillment_model", "ship_method", "buyer_ref")


@dataclass
class Decided:
    decisions: pd.DataFrame
    claims: pd.DataFrame
    facts: pd.DataFrame


def build_facts(refunds: pd.DataFrame, lines: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """Join each refund line with its order line and order: what the rules select on.

    The refunds' line and order ids are looked up in ``lines`` and ``orders`` (:func:`id_positions`; a line
    or order given twice counts as its first) and only the context columns are taken by position: pandas
    merges on text ids copy every column of the refunds.
    ``line_row`` keeps each refund's row among ``lines`` (-1 when not there).
    """
    refunds = refunds.reset_index(drop=True)
    line_at, order_at = _positions_on_two_cores(refunds, lines, orders)
    context = {
        (f"line_{c}" if c.endswith("_minor") else c): take_rows(lines[c], line_at) for c in LINE_CONTEXT[1:]
    }
    context.update({c: take_rows(orders[c], order_at) for c in ORDER_CONTEXT[1:]})
    facts = pd.concat([refunds, pd.DataFrame(context)], axis=1)
    facts["line_row"] = line_at  # the risk flags group refunds by order line with it
    line_found = line_at >= 0
    facts["order_context_missing"] = ~line_found | facts["fulfillment_model"].isna().to_numpy()
    paid = sum(
        facts[f"line_{c}"].to_numpy(dtype=np.int64, na_value=0) * sign
        for c, sign in (
            ("principal_minor", 1),
            ("shipping_minor", 1),
            ("tax_minor", 1),
            ("promotion_minor", -1),
        )
    )
    facts["paid_minor"] = np.where(line_found, paid, np.iinfo(np.int64).max)
    facts["shipped_late"] = facts["shipped_late"].astype("boolean").fillna(False).astype(bool)
    facts["days_since_delivery"] = _whole_days_between(facts["delivered_at"], facts["refunded_at"])
    return facts


def _positions_on_two_cores(
    refunds: pd.DataFrame, lines: pd.DataFrame, orders: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Each refund's row among ``lines`` and among ``orders`` (-1: not there), the order lookup on a second
    core: both are hash and gather kernels that let go of the GIL, and from a hundred thousand lines on the
    second core halves the join (``make bench``); below, a thread costs a millisecond."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="join") as pool:
        order_lookup = pool.submit(id_positions, refunds["order_uid"], orders["order_uid"])
        return id_positions(refunds["line_uid"], lines["line_uid"]), order_lookup.result()


def _whole_days_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Whole days from ``start`` to ``end`` (floored, as ``Timedelta.days``), <NA> where either is missing;
    on the microsecond counts (pandas' timedelta ``.dt.days`` is far slower)."""
    start_us = start.astype("datetime64[us, UTC]").to_numpy(dtype="datetime64[us]").view(np.int64)
    end_us = end.astype("datetime64[us, UTC]").to_numpy(dtype="datetime64[us]").view(np.int64)
    missing = start.isna().to_numpy() | end.isna().to_numpy()
    days = (end_us - start_us) // 86_400_000_000
    return pd.Series(pd.arrays.IntegerArray(np.where(missing, 0, days), missing), index=start.index)


def _hit(facts: pd.DataFrame, coded: CodedColumns, field: str, op: str, value) -> np.ndarray:
    """One condition over a whole column; missing values never match (except ``not_in``).

    Text fields are answered on their distinct values (:class:`CodedColumns`); numbers and flags in numpy.
    """
    if SELECTABLE.get(field) == "enum":
        found = coded.isin(field, value if isinstance(value, list) else [value])
        return ~found if op == "not_in" else found
    col = facts[field]
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biu":
        col = col.to_numpy()
    if op == "eq":
        hit = col == value
    elif op == "in":
        hit = np.isin(col, value) if isinstance(col, np.ndarray) else col.isin(value)
    elif op == "not_in":
        hit = ~(np.isin(col, value) if isinstance(col, np.ndarray) else col.isin(value))
    elif op == "gte":
        hit = col >= value
    elif op == "gt":
        hit = col > value
    elif op == "lte":
        hit = col <= value
    else:
        hit = col < value
    if isinstance(hit, np.ndarray):
        return hit
    return hit.fillna(False).to_numpy(dtype=bool)


def _match(facts: pd.DataFrame, coded: CodedColumns, rule: Rule) -> np.ndarray:
    mask = np.ones(len(facts), dtype=bool)
    for cond in rule.conditions:
        mask &= _hit(facts, coded, cond.field, cond.op, cond.value)
    return mask


def first_match(
    facts: pd.DataFrame, rules: tuple[Rule, ...], coded: CodedColumns | None = None
) -> np.ndarray:
    """Index of the first rule matching each row (the last rule matches everything)."""
    coded = CodedColumns(facts) if coded is None else coded
    chosen = np.full(len(facts), len(rules) - 1, dtype=np.int64)
    open_rows = np.ones(len(facts), dtype=bool)
    for i, rule in enumerate(rules[:-1]):
        hit = _match(facts, coded, rule) & open_rows
        chosen[hit] = i
        open_rows &= ~hit
    return chosen


def _take(values: list[str | None], chosen: np.ndarray, index: pd.Index) -> pd.Series:
    """``values[chosen]`` as a categorical column on ``index``: each text is stored once, a row holds its code.

    Rule ids, reasons and outcomes repeat over millions of lines; as categories they cost one byte or two
    a row instead of the text, and are written to Arrow and Parquet as dictionaries.
    """
    used = np.bincount(chosen, minlength=len(values)) > 0  # only the texts that occur become categories
    categories = list(dict.fromkeys(v for v, u in zip(values, used, strict=True) if u and v is not None))
    position = {v: i for i, v in enumerate(categories)}
    table = np.array([position.get(v, -1) if v is not None else -1 for v in values], dtype=np.int16)
    dtype = pd.CategoricalDtype(pd.Index(categories, dtype="string"))
    return pd.Series(pd.Categorical.from_codes(table[chosen], dtype=dtype, validate=False), index=index)


def _pick(rules: tuple[Rule, ...], chosen: np.ndarray, attr: str, index: pd.Index) -> pd.Series:
    """The ``attr`` of each row's chosen rule, as a categorical column on ``index``."""
    return _take([getattr(r, attr) for r in rules], chosen, index)


def _fees(
    facts: pd.DataFrame, coded: CodedColumns, policy: Policy, exp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Amazon's refund administration fee and the referral fee given back, in minor units.

    The referral fee is returned in proportion to the principal refunded; Amazon keeps the lesser of
    ``max_units`` of the marketplace currency and ``share`` of that refunded referral fee.
    """
    line_principal = facts["line_principal_minor"].fillna(0).to_numpy(dtype=np.int64)
    refunded_principal = np.minimum(facts["principal_minor"].to_numpy(dtype=np.int64), line_principal)
    referral = facts["line_referral_fee_minor"].fillna(0).to_numpy(dtype=np.int64)
    safe_den = np.where(line_principal > 0, line_principal, 1)
    referral_refunded = np.where(
        line_principal > 0, div_half_even(referral * refunded_principal, safe_den), 0
    )
    num, den = policy.admin_fee_referral_share.as_integer_ratio()
    cap = policy.admin_fee_max_units * 10**exp
    applies = coded.isin("channel", policy.admin_fee_channels) & coded.isin("event_type", ["REFUND"])
    admin = np.where(applies, np.minimum(cap, div_half_even(referral_refunded * num, den)), 0)
    returned = np.where(applies, referral_refunded - admin, 0)
    return admin, returned


def _bearers(
    facts: pd.DataFrame,
    coded: CodedColumns,
    policy: Policy,
    cost: np.ndarray,
    party: np.ndarray,
    recoverable: np.ndarray,
) -> dict[str, np.ndarray | pd.Series]:
    """Who bears each part of a refund, and the money each side carries, in the transaction currency.

    - the refund itself (principal, shipping, tax, net of promotions) less the referral fee the marketplace
      gives back: the liable marketplace or carrier when there is one, else the seller (a customer-damaged
      return can win back up to half through SAFE-T: that half is the counterparty's);
    - the refund administration fee Amazon keeps: the seller (already inside the seller cost);
    - the restocking fee: the customer (deducted from the refund);
    - the return label of a returned item the seller ships a label for: the seller when the reason is the
      seller's fault (policy ``return_labels``), else the customer.

    ``party`` is each line's liable party as a code of :data:`PARTY_CODES`. ``borne_by_seller +
    borne_by_counterparty = seller_cost + the label the seller pays``, exactly. The sentence naming each part's bearer is derived
    from these columns in ``mart.refunds.cost_bearers``.
    """
    label_cost = coded.lookup("currency", policy.return_label_minor, 0, np.int64)
    returned = ~facts["returnless"].to_numpy(dtype=bool)
    takes_label = coded.isin("fulfillment_model", policy.return_label_models) & returned
    label = np.where(takes_label, label_cost, 0)
    seller_pays = coded.isin("reason", policy.label_seller_reasons)
    payer = np.where(label > 0, np.where(seller_pays, 1, 2), 0)  # none, seller, customer
    counterparty = np.where(party >= MARKETPLACE, cost, np.where(party == CUSTOMER, recoverable, 0))
    label_seller = np.where(seller_pays, label, 0)
    restocking = facts["restocking_fee_minor"].to_numpy(dtype=np.int64)
    return {
        "return_label_minor": label,
        "return_label_paid_by": _take([None, "seller", "customer"], payer, facts.index),
        "borne_by_seller_minor": cost - counterparty + label_seller,
        "borne_by_counterparty_minor": counterparty,
        "borne_by_customer_minor": restocking + (label - label_seller),
    }


def _vat(facts: pd.DataFrame, coded: CodedColumns, policy: Policy) -> dict[str, np.ndarray]:
    """The marketplace's VAT rate, the tax part refunded, the tax the rate implies, and the credit-note flag.

    ``vat_expected_minor`` is the rate applied to the refunded net (principal + shipping - promotions): a large
    gap to ``vat_minor`` means the channel refunded the wrong tax.
    """
    rates = {m: int(r.scaleb(6)) for m, r in policy.vat_rates.items()}
    rate = coded.lookup("marketplace", rates, 0, np.int64)
    net = (
        facts["principal_minor"].to_numpy(dtype=np.int64)
        + facts["shipping_minor"].to_numpy(dtype=np.int64)
        - facts["promotion_minor"].to_numpy(dtype=np.int64)
    )
    expected = div_half_even(net * rate, 10**6)
    credit_note = coded.isin("marketplace", policy.credit_note_marketplaces) & coded.isin(
        "event_type", ["REFUND"]
    )
    return {
        "vat_rate_e6": rate,
        "vat_minor": facts["tax_minor"].to_numpy(dtype=np.int64),
        "vat_expected_minor": expected,
        "credit_note_required": credit_note,
    }


def _flags_text(facts: pd.DataFrame) -> pd.Series:
    """Comma-separated names of the risk flags on each line ("" when none)."""
    code = np.zeros(len(facts), dtype=np.int64)
    for bit, name in enumerate(FLAG_NAMES):
        code |= facts[name].to_numpy(dtype=bool).astype(np.int64) << bit
    texts = [
        ",".join(n for bit, n in enumerate(FLAG_NAMES) if c >> bit & 1) for c in range(2 ** len(FLAG_NAMES))
    ]
    return _take(texts, code, facts.index)


def _claim_windows(
    facts: pd.DataFrame, coded: CodedColumns, claims: np.ndarray, liability: np.ndarray, policy: Policy
) -> tuple[np.ndarray, np.ndarray]:
    """Opening day and deadline of each claim row: the marketplace's window for the claim type of its
    liability rule, else the default; NaT on the other rows."""
    opens = np.full(len(facts), np.datetime64("NaT"), dtype="datetime64[us]")
    deadline = opens.copy()
    rows = np.flatnonzero(claims)
    if not len(rows):
        return opens, deadline
    market_codes, markets = coded.codes("marketplace")
    # a handful of (liability rule, marketplace) pairs: look each up once, then spread to the rows
    pair = liability[rows].astype(np.int64) * (len(markets) + 1) + market_codes[rows] + 1
    pairs, codes = np.unique(pair, return_inverse=True)
    windows = []
    for rule_index, market_code in zip(
        pairs // (len(markets) + 1), pairs % (len(markets) + 1) - 1, strict=True
    ):
        claim = policy.liability_rules[rule_index].claim
        default = policy.claim_windows["default"][claim]  # every claim has one: parse_policy checks it
        market = markets[market_code] if market_code >= 0 else None
        windows.append(policy.claim_windows.get(market, {}).get(claim, default))
    table = np.array(windows, dtype=np.int64).reshape(-1, 2)
    refunded = facts["refunded_at"].array.asi8[rows]
    day = (refunded - refunded % DAY_US).astype("datetime64[us]")
    opens[rows] = day + table[codes, 0].astype("timedelta64[D]")
    deadline[rows] = day + table[codes, 1].astype("timedelta64[D]")
    return opens, deadline


PAUSED_RULE = (
    "K000-auto-refunds-paused",
    "automatic approvals are paused (Variable acorn_pause_auto_refunds)",
)


def _per_rule(
    rules: tuple[Rule, ...], fn: Callable[[Rule], object], dtype: type, chosen: np.ndarray
) -> np.ndarray:
    """``fn`` of each row's chosen rule: evaluated once per rule, spread to the rows with one numpy gather."""
    return np.array([fn(r) for r in rules], dtype=dtype)[chosen]


def decide(facts: pd.DataFrame, policy: Policy, rates: pd.DataFrame, *, paused: bool = False) -> Decided:
    """Decide every refund line of ``facts`` under ``policy``, in steps that each read what the ones before
    gave: money facts -> liability -> outcome -> money borne -> claims.

    ``facts`` are :func:`build_facts`' joined rows with the risk flags of :func:`acorn.risk.flags.assess`.
    With ``paused`` (the kill switch) every line the policy would approve goes to review instead.
    """
    missing = [f for f in FLAG_FIELDS if f not in facts]
    if missing:
        raise ValueError(
            f"the facts lack the risk flags {missing}: assess them first (acorn.risk.flags.assess)"
        )
    facts = facts.copy(deep=False)
    coded = CodedColumns(facts)
    priced = price(facts, coded, policy, rates)
    liability = assign_liability(facts, coded, policy)
    outcome = choose_outcome(facts, coded, policy, paused)
    money = bear(facts, coded, policy, priced, liability, outcome)
    decisions = _decisions(facts, policy, priced, liability, outcome, money)
    return Decided(decisions, open_claims(facts, decisions), facts)


@dataclass(frozen=True)
class Priced:
    """Each line's money in the reporting currency and after the marketplace's fees (minor units)."""

    rate: np.ndarray
    rate_date: np.ndarray
    admin_fee: np.ndarray
    referral_returned: np.ndarray
    seller_cost: np.ndarray


def price(facts: pd.DataFrame, coded: CodedColumns, policy: Policy, rates: pd.DataFrame) -> Priced:
    """The money facts the rules select on: the refund and the seller's cost in the reporting currency at
    the refund date's rate (``fx_rate_missing`` where there is none), Amazon's fees. Adds them to ``facts``."""
    rep = policy.reporting_currency
    exp = coded.lookup("currency", CURRENCY_EXPONENT, 2, np.int64)
    rate, rate_date = cross_rates(rates, facts["currency"], facts["refunded_at"], rep)
    facts["fx_rate_missing"] = rate == 0
    amount = facts["amount_minor"].to_numpy(dtype=np.int64)
    facts["amount_reporting"] = convert_minor(amount, rate, exp, CURRENCY_EXPONENT[rep])
    admin, returned = _fees(facts, coded, policy, exp)
    # the tax a marketplace facilitator collected comes back from the marketplace with the refund
    withheld = facts["tax_withheld_minor"].to_numpy(dtype=np.int64) if "tax_withheld_minor" in facts else 0
    cost = amount - returned - withheld
    facts["seller_cost_minor"] = cost
    facts["seller_cost_reporting"] = convert_minor(cost, rate, exp, CURRENCY_EXPONENT[rep])
    return Priced(rate, rate_date, admin, returned, cost)


@dataclass(frozen=True)
class Liability:
    """Each line's liability rule (its index in the policy) and what follows from it alone."""

    rule: np.ndarray
    party: np.ndarray  # codes of PARTY_CODES
    columns: dict[str, pd.Series]


def assign_liability(facts: pd.DataFrame, coded: CodedColumns, policy: Policy) -> Liability:
    """Who is liable, and the accounting category, by the first liability rule that matches. Adds
    ``liable_party`` and ``claimable`` to ``facts`` (decision rules select on them)."""
    rules, idx = policy.liability_rules, facts.index
    chosen = first_match(facts, rules, coded)
    coded.put("liable_party", chosen.astype(np.int32), [r.liable_party for r in rules])
    facts["liable_party"] = _pick(rules, chosen, "liable_party", idx)
    facts["claimable"] = _per_rule(rules, lambda r: r.claim is not None, bool, chosen)
    columns = {
        "liable_party": facts["liable_party"],
        "liability_rule": _pick(rules, chosen, "id", idx),
        "liability_reason": _pick(rules, chosen, "why", idx),
        "accounting_category": _pick(rules, chosen, "accounting_category", idx),
    }
    party = _per_rule(rules, lambda r: PARTY_CODES[r.liable_party], np.int8, chosen)
    return Liability(chosen, party, columns)


@dataclass(frozen=True)
class Outcome:
    """Each line's decision rule (an index in the policy; one past its end: the kill switch's rule)."""

    rule: np.ndarray
    #: the outcome is a claim
    is_claim: np.ndarray
    #: ... and the liability rule names one: a claim is opened
    claim: np.ndarray


def choose_outcome(facts: pd.DataFrame, coded: CodedColumns, policy: Policy, paused: bool) -> Outcome:
    """Approve, review, reject or claim, by the first decision rule that matches."""
    rules = policy.decision_rules
    chosen = first_match(facts, rules, coded)
    is_claim = _per_rule(rules, lambda r: r.outcome == "claim", bool, chosen)
    if paused:  # what would be approved goes to review, under a rule of its own (one past the policy's)
        held = _per_rule(rules, lambda r: r.outcome == "approve", bool, chosen)
        chosen = np.where(held, len(rules), chosen)
    return Outcome(chosen, is_claim, is_claim & facts["claimable"].to_numpy())


def bear(
    facts: pd.DataFrame,
    coded: CodedColumns,
    policy: Policy,
    priced: Priced,
    liability: Liability,
    outcome: Outcome,
) -> dict[str, np.ndarray | pd.Series]:
    """The money each side bears: what a claim recovers (the liability rule's share of the seller's cost),
    the claim's window, VAT, the return label, and who carries each part."""
    rules = policy.liability_rules
    # exact: cost * num // den of the rule's share (a SAFE-T claim for a buyer's damage: half)
    num = _per_rule(rules, lambda r: r.recoverable.numerator, np.int64, liability.rule)
    den = _per_rule(rules, lambda r: r.recoverable.denominator, np.int64, liability.rule)
    recoverable = np.where(outcome.is_claim, priced.seller_cost * num // den, 0)
    opens, deadline = _claim_windows(facts, coded, outcome.claim, liability.rule, policy)
    return {
        "claim_opens_on": opens,
        "claim_deadline": deadline,
        "recoverable_minor": recoverable,
        **_vat(facts, coded, policy),
        **_bearers(facts, coded, policy, priced.seller_cost, liability.party, recoverable),
    }


def _decisions(
    facts: pd.DataFrame,
    policy: Policy,
    priced: Priced,
    liability: Liability,
    outcome: Outcome,
    money: dict[str, np.ndarray | pd.Series],
) -> pd.DataFrame:
    """One decision row per line, with the policy's text as categories."""
    rules, idx = policy.decision_rules, facts.index
    liability_rules = policy.liability_rules
    claim_type = np.where(outcome.claim, liability.rule + 1, 0)
    columns = {
        "refund_uid": facts["refund_uid"],
        "policy_version": _take([policy.version], np.zeros(len(idx), dtype=np.int64), idx),
        "outcome": _take([*(r.outcome for r in rules), "review"], outcome.rule, idx),
        "decision_rule": _take([*(r.id for r in rules), PAUSED_RULE[0]], outcome.rule, idx),
        "decision_reason": _take([*(r.why for r in rules), PAUSED_RULE[1]], outcome.rule, idx),
        **liability.columns,
        "claim_type": _take([None, *(r.claim for r in liability_rules)], claim_type, idx),
        "risk_flags": _flags_text(facts),
        "reporting_currency": _take([policy.reporting_currency], np.zeros(len(idx), dtype=np.int64), idx),
        "fx_rate_e9": priced.rate,
        "fx_rate_date": priced.rate_date,
        "amount_reporting_minor": facts["amount_reporting"],
        "refund_admin_fee_minor": priced.admin_fee,
        "referral_fee_returned_minor": priced.referral_returned,
        "seller_cost_minor": priced.seller_cost,
        "seller_cost_reporting_minor": facts["seller_cost_reporting"],
        **money,
    }
    decisions = pd.DataFrame(
        {name: columns[name] for name in DECISIONS.dtypes},
        copy=False,  # the columns are this frame's alone: consolidating them would copy each once more
    ).astype(DECISIONS.dtypes)
    return decisions.reset_index(drop=True)


#: What a claim's evidence and currency are read from, of the facts.
CLAIM_EVIDENCE = (
    "account_id",
    "external_refund_id",
    "order_uid",
    "line_uid",
    "reason",
    "disposition",
    "delivered_at",
    "return_received_at",
    "currency",
)


def open_claims(facts: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Claim work items for the lines someone else should pay for, with references to their evidence.

    ``facts`` holds the :data:`CLAIM_EVIDENCE` columns (row for row with ``decisions``); ``decisions`` each
    line's ids, rules, claim type, liable party, recoverable amount and claim window.

    Only the claim rows of the few columns the evidence needs are taken, straight into Arrow (categoricals
    through their codes), and the evidence JSON is joined there: no row is ever a Python object.
    """
    rows = np.flatnonzero(decisions["claim_type"].cat.codes.to_numpy() >= 0)
    if not len(rows):
        return CLAIMS.empty()

    def text(frame: pd.DataFrame, name: str) -> pa.Array:
        return text_rows(frame[name], rows)

    def quoted(values: pa.Array) -> pa.Array:  # a JSON string, or null
        return pc.fill_null(pc.binary_join_element_wise('"', values, '"', ""), "null")

    def iso(name: str) -> pa.Array:
        return quoted(iso_utc(facts[name].take(rows)))

    # ids, codes and timestamps; an external id with a quote, backslash or control character is escaped by json
    external = text(facts, "external_refund_id")
    escape = pc.fill_null(pc.match_substring_regex(external, r'["\\\x00-\x1f]'), False).to_numpy(
        zero_copy_only=False
    )
    refund_ids = quoted(external)
    if escape.any():
        escaped = np.array(refund_ids.to_pylist(), dtype=object)
        escaped[escape] = [json.dumps(v) for v in np.array(external.to_pylist(), dtype=object)[escape]]
        refund_ids = pa.array(escaped, type=pa.string())
    evidence = pc.binary_join_element_wise(
        '{"account_id": ', quoted(text(facts, "account_id")),
        ', "external_refund_id": ', refund_ids,
        ', "order_uid": ', quoted(text(facts, "order_uid")),
        ', "line_uid": ', quoted(text(facts, "line_uid")),
        ', "reason": ', quoted(text(facts, "reason")),
        ', "disposition": ', quoted(text(facts, "disposition")),
        ', "delivered_at": ', iso("delivered_at"),
        ', "return_received_at": ', iso("return_received_at"),
        ', "rules": ["', text(decisions, "decision_rule"), '", "', text(decisions, "liability_rule"), '"]}',
        "",
    )  # fmt: skip

    def column(values: pa.Array) -> pd.Series:
        return pd.Series(pd.arrays.ArrowStringArray(values))

    refund_uid, claim_type = column(text(decisions, "refund_uid")), column(text(decisions, "claim_type"))
    return pd.DataFrame(
        {
            "claim_id": uids("claim", refund_uid, claim_type),
            "refund_uid": refund_uid,
            "claim_type": claim_type,
            "counterparty": column(text(decisions, "liable_party")),
            "currency": column(text(facts, "currency")),
            "amount_minor": decisions["recoverable_minor"].to_numpy()[rows],
            "opens_on": decisions["claim_opens_on"].to_numpy()[rows],
            "deadline": decisions["claim_deadline"].to_numpy()[rows],
            "evidence": column(evidence),
        }
    ).astype(CLAIMS.dtypes)
