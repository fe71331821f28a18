from pathlib import Path

import pytest
import yaml

from acorn.errors import ConfigError
from acorn.policy.rules import load_policy
from acorn.policy.taxonomy import load_taxonomy
from acorn.settings import load_settings

DEFAULT = load_settings().policy_file


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(DEFAULT.read_text())
    mutate(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_default_policy_loads_with_a_version_and_catch_all_rules():
    policy = load_policy(DEFAULT)
    assert policy.version
    assert not policy.decision_rules[-1].conditions
    assert not policy.liability_rules[-1].conditions


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (
            lambda d: d["decision_rules"][2].update(outcome="refund"),
            "decision_rules[D010-unmapped-reason].outcome",
            "is not one of",
        ),
        (
            lambda d: d["decision_rules"][1]["when"].update(colour="red"),
            "decision_rules[D005-no-fx-rate].when.colour",
            "unknown field",
        ),
        (
            lambda d: d["decision_rules"][5]["when"].update(amount_reporting={"gte": "25O.00"}),
            "decision_rules[D040-high-value].when.amount_reporting",
            "not an amount",
        ),
        (
            lambda d: d["liability_rules"][0].pop("liable_party"),
            "liability_rules[L010-fba-warehouse-damage]",
            "'liable_party' is a required property",
        ),
        (
            lambda d: d["decision_rules"][-1].update(when={"channel": "amazon"}),
            "decision_rules[D999-default]",
            "last rule must have no `when`",
        ),
        (lambda d: d.pop("version"), "(top level)", "'version' is a required property"),
        (lambda d: d.pop("risk"), "(top level)", "'risk' is a required property"),
        (
            lambda d: d["liability_rules"][8].update(recoverable_share="half"),
            "liability_rules[L080-customer-damaged-mfn].recoverable_share",
            "does not match",
        ),
        (
            lambda d: d["claim_windows"]["DE"].update(fba_customer_return={"opens_after_days": 45}),
            "claim_windows.DE.fba_customer_return",
            "'deadline_days' is a required property",
        ),
        (  # taken as 0-60 days by the engine before, without a word
            lambda d: d["claim_windows"]["default"].pop("carrier_claim"),
            "liability_rules[L050-carrier-loss].claim",
            "claim 'carrier_claim' has no window under claim_windows.default",
        ),
    ],
)
def test_a_broken_policy_names_file_rule_and_field(tmp_path, mutate, field, message):
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as err:
        load_policy(path)
    assert str(path) in str(err.value)
    assert field in str(err.value)
    assert message in str(err.value)


def test_a_missing_or_unreadable_policy_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: policy file not found"):
        load_policy(tmp_path / "nowhere.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_policy(bad)


def test_taxonomy_maps_only_to_declared_reasons(tmp_path):
    data = yaml.safe_load((DEFAULT.parent / "reason_taxonomy.yaml").read_text())
    data["channels"]["shopify"]["COLOR"] = "COLOUR_WRONG"
    path = tmp_path / "tax.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(
        ConfigError, match=r"channels\.shopify\.COLOR: maps to undeclared reason 'COLOUR_WRONG'"
    ):
        load_taxonomy(path)


def test_the_stored_version_names_the_rules_content_not_only_the_files_version_field(tmp_path):
    written = yaml.safe_load(DEFAULT.read_text())["version"]
    policy = load_policy(DEFAULT)
    assert policy.version.startswith(f"{written}+")

    def stricter(data):
        for rule in data["decision_rules"]:
            if rule["id"] == "D040-high-value":
                rule["when"]["amount_reporting"]["gte"] = "50.00"

    edited = load_policy(_write(tmp_path, stricter))
    assert edited.version != policy.version  # the same "version:" before: its decisions were overwritten
    assert edited.version.startswith(f"{written}+")
    reformatted = tmp_path / "b.yaml"
    reformatted.write_text(yaml.safe_dump(yaml.safe_load(DEFAULT.read_text()), indent=4, sort_keys=False))
    assert load_policy(reformatted).version == policy.version  # layout and comments are not the rules
