"""bot/rasa_ext/: one entry point patches Rasa, nothing does on import, and both patches keep
to the Rasa version they were written for."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
from typing import Any

import pytest
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from bot import rasa_ext, rasa_server
from bot.rasa_ext import failsafe, speedups
from bot.settings import ROOT

PATCHED = {"retrieve", "retrieve_full_tracker", "save"}


@pytest.fixture()
def unpatched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa's own methods back after the test, whatever it patched."""
    for name in PATCHED:
        monkeypatch.setattr(FailSafeTrackerStore, name, getattr(FailSafeTrackerStore, name))
    for name in ("_validate_action_result",):
        monkeypatch.setattr(RemoteAction, name, getattr(RemoteAction, name))
    from rasa.core.policies.rule_policy import RulePolicy

    for name in ("_is_rule_applicable", "_get_possible_keys"):
        monkeypatch.setattr(RulePolicy, name, getattr(RulePolicy, name))


class _Down(InMemoryTrackerStore):
    async def retrieve(self, sender_id: str) -> Any:
        raise ConnectionError("the database is down")


def test_importing_the_extensions_patches_nothing() -> None:
    """No module of the package runs a call or sets an attribute of something else when it is
    imported: definitions and constants only (read from the source: importing Rasa again in a
    fresh interpreter would take 15 s)."""
    for path in sorted((ROOT / "bot" / "rasa_ext").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Expr):
                assert isinstance(node.value, ast.Constant), (path.name, ast.unparse(node))
            targets = node.targets if isinstance(node, ast.Assign) else []
            assert not any(isinstance(t, ast.Attribute | ast.Subscript) for t in targets), (
                path.name, ast.unparse(node))


def test_the_package_itself_is_light() -> None:
    """bot/serve.py and bot/scaled.py read the class paths without loading Rasa."""
    code = "import sys, bot.rasa_ext, bot.serve\nprint('rasa' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


def test_the_class_paths_name_the_classes() -> None:
    from bot.rasa_ext.lock_store import AtomicRedisLockStore
    from bot.rasa_ext.tracker_store import ErasingTrackerStore

    for path, cls in ((rasa_ext.TRACKER_STORE, ErasingTrackerStore),
                      (rasa_ext.LOCK_STORE, AtomicRedisLockStore)):
        assert path == f"{cls.__module__}.{cls.__qualname__}"


def test_the_rasa_server_applies_them_before_rasa_starts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(rasa_ext, "apply", lambda: seen.append("apply") or {})
    monkeypatch.setattr("rasa.__main__.main", lambda: seen.append("rasa"))
    monkeypatch.setattr(sys, "argv", sys.argv)  # main() sets it for Rasa's parser
    monkeypatch.setenv("RASA_TOKEN", "t")
    rasa_server.main(["run"])
    assert seen == ["apply", "rasa"]


def test_a_tracker_store_outage_fails_the_turn_once_applied(unpatched: None) -> None:
    store = FailSafeTrackerStore(_Down(Domain.empty()))
    assert asyncio.run(store.retrieve("s1")) is None  # Rasa's own: a silent fresh start
    assert rasa_ext.apply() == {"speedups": True, "failsafe": True}
    assert rasa_ext.apply() == {"speedups": True, "failsafe": True}  # idempotent
    with pytest.raises(ConnectionError):
        asyncio.run(store.retrieve("s1"))
    assert {name for name in PATCHED if name in failsafe.ORIGINALS} == PATCHED


def test_another_rasa_version_is_left_unpatched(unpatched: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    before = {name: getattr(FailSafeTrackerStore, name) for name in PATCHED}
    validate = RemoteAction._validate_action_result
    assert rasa_ext.apply() == {"speedups": False, "failsafe": False}
    assert {name: getattr(FailSafeTrackerStore, name) for name in PATCHED} == before
    assert RemoteAction._validate_action_result is validate
    assert not failsafe.apply() and not speedups.apply()
