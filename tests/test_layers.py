"""The layers of docs/decisions/0006, beside the import-linter contracts that `make lint`
runs: the trail core's list in the contract names every module of audit outside oversight
(a new module cannot slip between the two), and oversight's lookup-time rules are
registered with the trail."""

import tomllib
from pathlib import Path

from audit import hooks

ROOT = Path(__file__).resolve().parents[1]
CORE_CONTRACT = "The trail core imports no other app of ours, and nothing of oversight"


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["name"]: contract for contract in config["contracts"]}


def _audit_modules_outside_oversight() -> set[str]:
    modules = set()
    for path in (ROOT / "audit").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "oversight" in parts or "migrations" in parts or parts[-1] == "__init__":
            continue
        modules.add(".".join(parts))
    # The app's composition root (it registers oversight's hooks), and oversight's own
    # command, which Django finds only under audit/management/commands/.
    return modules - {"audit.apps", "audit.management.commands.flag_events"}


def test_the_trail_cores_contract_names_every_module_of_the_core():
    named = set(_contracts()[CORE_CONTRACT]["source_modules"])
    assert named == _audit_modules_outside_oversight()


def test_the_core_may_import_no_other_app_nor_oversight():
    forbidden = set(_contracts()[CORE_CONTRACT]["forbidden_modules"])
    assert forbidden == {"accounts", "children", "audit.oversight"}


def test_oversights_lookup_rules_are_registered_with_the_trail():
    assert "lookup_rules" in hooks.registered()
