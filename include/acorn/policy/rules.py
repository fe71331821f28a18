"""Loading the refund policy: YAML, checked against a schema, every error naming file, rule and field."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import jsonschema

from acorn.errors import ConfigError, read_yaml
from acorn.money import CURRENCY_EXPONENT, to_minor

FieldKind = Literal["enum", "bool", "money", "count"]

#: What a rule may select on, and how the value is read. Money is in the reporting currency.
SELECTABLE: dict[str, FieldKind] = {
    "channel": "enum",
    "account_id": "enum",
    "marketplace": "enum",
    "fulfillment_model": "enum",
    "ship_method": "enum",
    "event_type": "enum",
    "reason": "enum",
    "disposition": "enum",
    "category": "enum",
    "currency": "enum",
    "liable_party": "enum",
    "returnless": "bool",
    "shipped_late": "bool",
    "duplicate_refund": "bool",
    "exceeds_paid": "bool",
    "fx_rate_missing": "bool",
    "claimable": "bool",
    "order_context_missing": "bool",
    "serial_returner": "bool",
    "amount_reporting": "money",
    "seller_cost_reporting": "money",
    "days_since_delivery": "count",
    "buyer_refunds_90d": "count",
}
OUTCOMES = ("approve", "review", "reject", "claim")
LIABLE_PARTIES = ("seller", "marketplace", "carrier", "customer")
CLAIM_TYPES = ("fba_customer_return", "fba_warehouse_damage", "safe_t", "a_to_z_appeal", "carrier_claim")

_WINDOW = {
    "type": "object",
    "properties": {
        "opens_after_days": {"type": "integer", "minimum": 0},
        "deadline_days": {"type": "integer", "minimum": 1},
    },
    "required": ["opens_after_days", "deadline_days"],
    "additionalProperties": False,
}
_RULE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "when": {"type": "object"},
        "why": {"type": "string"},
    },
    "required": ["id", "why"],
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "version",
        "reporting_currency",
        "liability_rules",
        "decision_rules",
        "claim_windows",
        "risk",
    ],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "string", "minLength": 1},
        "reporting_currency": {"enum": sorted(CURRENCY_EXPONENT)},
        "fees": {"type": "object"},
        "risk": {
            "type": "object",
            "properties": {"serial_returner_refunds_90d": {"type": "integer", "minimum": 1}},
            "required": ["serial_returner_refunds_90d"],
            "additionalProperties": False,
        },
        "vat": {
            "type": "object",
            "properties": {
                "rates": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "pattern": r"^0(\.\d{1,4})?$"},
                },
                "credit_note_marketplaces": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": False,
        },
        "return_labels": {
            "type": "object",
            "properties": {
                "cost": {
                    "type": "object",
                    "propertyNames": {"enum": sorted(CURRENCY_EXPONENT)},
                    "additionalProperties": {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"},
                },
                "fulfillment_models": {"type": "array", "items": {"enum": ["AFN", "MFN", "STORE"]}},
                "seller_pays_for_reasons": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": False,
        },
        "liability_rules": {
            "type": "array",
            "minItems": 1,
            "items": {
                "allOf": [_RULE],
                "properties": {
                    "id": {},
                    "when": {},
                    "why": {},
                    "liable_party": {"enum": list(LIABLE_PARTIES)},
                    "accounting_category": {"type": "string", "pattern": "^[a-z_]+$"},
                    "claim": {"enum": list(CLAIM_TYPES)},
                    "recoverable_share": {"type": "string", "pattern": r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$"},
                },
                "required": ["liable_party", "accounting_category"],
                "additionalProperties": False,
            },
        },
        "decision_rules": {
            "type": "array",
            "minItems": 1,
            "items": {
                "allOf": [_RULE],
                "properties": {"id": {}, "when": {}, "why": {}, "outcome": {"enum": list(OUTCOMES)}},
                "required": ["outcome"],
                "additionalProperties": False,
            },
        },
        "claim_windows": {
            "type": "object",
            "required": ["default"],
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"enum": list(CLAIM_TYPES)},
                "additionalProperties": _WINDOW,
            },
        },
    },
}


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # eq, in, not_in, gte, gt, lte, lt
    value: Any


@dataclass(frozen=True)
class Rule:
    id: str
    conditions: tuple[Condition, ...]
    why: str
    outcome: str | None = None
    liable_party: str | None = None
    accounting_category: str | None = None
    claim: str | None = None
    #: the part of the seller's cost a claim against the liable party recovers (a SAFE-T claim for a buyer's
    #: damage: half); the whole of it when the policy names none, nothing when the seller is liable
    recoverable_share: Fraction | None = None

    @property
    def recoverable(self) -> Fraction:
        if self.liable_party == "seller":
            return Fraction(0)
        return self.recoverable_share if self.recoverable_share is not None else Fraction(1)


@dataclass(frozen=True)
class Policy:
    version: str
    source: str
    checksum: str
    reporting_currency: str
    liability_rules: tuple[Rule, ...]
    decision_rules: tuple[Rule, ...]
    claim_windows: dict[str, dict[str, tuple[int, int]]]
    #: refunds in 90 days that flag a buyer as a serial returner (``serial_returner``)
    serial_returner_refunds: int
    admin_fee_channels: tuple[str, ...]
    admin_fee_max_units: int
    admin_fee_referral_share: Decimal
    vat_rates: dict[str, Decimal] = field(default_factory=dict)
    credit_note_marketplaces: tuple[str, ...] = ()
    #: prepaid return label cost per currency (minor units), for returns of these fulfillment models
    return_label_minor: dict[str, int] = field(default_factory=dict)
    return_label_models: tuple[str, ...] = ()
    #: normalized reasons for which the seller pays the return label (else the buyer does)
    label_seller_reasons: tuple[str, ...] = ()


def _conditions(when: dict[str, Any], policy: dict, source: str, where: str) -> tuple[Condition, ...]:
    out: list[Condition] = []
    for name, spec in when.items():
        field = f"{where}.when.{name}"
        kind = SELECTABLE.get(name)
        if kind is None:
            raise ConfigError(source, f"unknown field; rules can select on {sorted(SELECTABLE)}", field=field)
        ops = spec if isinstance(spec, dict) else ({"in": spec} if isinstance(spec, list) else {"eq": spec})
        for op, value in ops.items():
            if op not in ("eq", "in", "not_in", "gte", "gt", "lte", "lt"):
                raise ConfigError(source, f"unknown operator {op!r}", field=field)
            if kind == "bool" and (op != "eq" or not isinstance(value, bool)):
                raise ConfigError(source, "expects true or false", field=field)
            if kind == "enum" and op in ("gte", "gt", "lte", "lt"):
                raise ConfigError(
                    source, f"{op} needs a number; this field takes values or lists", field=field
                )
            if op in ("in", "not_in") and not isinstance(value, list):
                raise ConfigError(source, f"{op} needs a list", field=field)
            if kind == "money":
                try:
                    value = to_minor(Decimal(str(value)), policy["reporting_currency"])
                except (InvalidOperation, ValueError) as exc:
                    raise ConfigError(
                        source, f"not an amount in {policy['reporting_currency']}: {exc}", field=field
                    ) from None
            if kind == "count" and not isinstance(value, int):
                raise ConfigError(source, "expects a whole number", field=field)
            out.append(Condition(name, op, value))
    return tuple(out)


def _rules(policy: dict, key: str, source: str) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    ids: set[str] = set()
    items = policy[key]
    for i, raw in enumerate(items):
        where = f"{key}[{raw['id']}]"
        if raw["id"] in ids:
            raise ConfigError(source, "rule id used twice", field=where)
        ids.add(raw["id"])
        when = raw.get("when") or {}
        if i == len(items) - 1 and when:
            raise ConfigError(
                source, "the last rule must have no `when`, so every line gets a result", field=where
            )
        rules.append(
            Rule(
                id=raw["id"],
                conditions=_conditions(when, policy, source, where),
                why=raw["why"],
                outcome=raw.get("outcome"),
                liable_party=raw.get("liable_party"),
                accounting_category=raw.get("accounting_category"),
                claim=raw.get("claim"),
                recoverable_share=Fraction(raw["recoverable_share"]) if "recoverable_share" in raw else None,
            )
        )
    return tuple(rules)


def content_version(data: dict[str, Any]) -> str:
    """The version a policy's decisions are stored under: the file's ``version`` and a hash of its rules'
    content (``2026.11.0+3f2a9c1d``). Editing the rules without changing ``version`` is then a new version
    whose decisions are written beside the old ones, never over them; reformatting the file is not."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return f"{data['version']}+{hashlib.sha256(canonical.encode()).hexdigest()[:8]}"


def parse_policy(data: Any, source: str, checksum: str = "") -> Policy:
    """Check a policy document and build the rules; errors name ``source``, the rule and the field."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        path = list(err.absolute_path)
        if len(path) >= 2 and isinstance(path[1], int) and isinstance(data, dict):
            rule = data[path[0]][path[1]]
            rule_id = rule.get("id", f"#{path[1] + 1}") if isinstance(rule, dict) else f"#{path[1] + 1}"
            field = ".".join([f"{path[0]}[{rule_id}]", *map(str, path[2:])])
        else:
            field = ".".join(map(str, path)) or "(top level)"
        raise ConfigError(source, err.message, field=field)
    fee = (data.get("fees") or {}).get("refund_admin_fee") or {}
    labels = data.get("return_labels") or {}
    windows = {
        market: {claim: (w["opens_after_days"], w["deadline_days"]) for claim, w in spec.items()}
        for market, spec in data["claim_windows"].items()
    }
    liability_rules = _rules(data, "liability_rules", source)
    for i, rule in enumerate(liability_rules):  # a claim's window is the policy's, never a guess in code
        if rule.claim is not None and rule.claim not in windows["default"]:
            raise ConfigError(
                source,
                f"claim {rule.claim!r} has no window under claim_windows.default (opens_after_days, deadline_days)",
                field=f"liability_rules[{rule.id or '#' + str(i + 1)}].claim",
            )
    return Policy(
        version=content_version(data),
        source=source,
        checksum=checksum,
        reporting_currency=data["reporting_currency"],
        liability_rules=liability_rules,
        decision_rules=_rules(data, "decision_rules", source),
        claim_windows=windows,
        serial_returner_refunds=int(data["risk"]["serial_returner_refunds_90d"]),
        admin_fee_channels=tuple(fee.get("channels", ["amazon"])),
        admin_fee_max_units=int(fee.get("max_units", 5)),
        admin_fee_referral_share=Decimal(str(fee.get("referral_fee_share", "0.20"))),
        vat_rates={k: Decimal(v) for k, v in (data.get("vat") or {}).get("rates", {}).items()},
        credit_note_marketplaces=tuple((data.get("vat") or {}).get("credit_note_marketplaces", [])),
        return_label_minor={
            ccy: int(Decimal(cost).scaleb(CURRENCY_EXPONENT[ccy]))
            for ccy, cost in labels.get("cost", {}).items()
        },
        return_label_models=tuple(labels.get("fulfillment_models", ["MFN", "STORE"])),
        label_seller_reasons=tuple(labels.get("seller_pays_for_reasons", [])),
    )


def load_policy(path: Path) -> Policy:
    """Read a policy file; a missing or broken file fails with a message that names it."""
    data = read_yaml(path, "policy file", " (set ACORN_POLICY_FILE)")
    return parse_policy(data, str(path), hashlib.sha256(path.read_bytes()).hexdigest()[:12])
