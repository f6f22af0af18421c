"""The privacy package and the Rasa extensions stand on their own: no import cycle passes
through them (imports inside functions included: a lazy import only hides a cycle), and each
privacy module imports alone in a fresh interpreter (the Rasa extensions:
tests/test_rasa_ext.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "connectors")
CHECKED = ("bot.privacy", "bot.rasa_ext")  # no cycle may pass through these


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES
            for path in sorted((ROOT / package).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that ``name`` imports anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # "from bot.privacy import tables": the submodule, when it is one
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in known and target != name)
    return found


def _cycles_through(checked: tuple[str, ...]) -> list[list[str]]:
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(name, path, known) for name, path in modules.items()}
    cycles = []
    for start in sorted(n for n in graph if n.startswith(checked)):
        # a path from one of start's imports back to start is a cycle
        stack, seen = [(dep, [start, dep]) for dep in sorted(graph[start])], set()
        while stack:
            node, trail = stack.pop()
            if node == start:
                cycles.append(trail)
                break
            if node in seen:
                continue
            seen.add(node)
            stack.extend((dep, [*trail, dep]) for dep in sorted(graph[node]))
    return cycles


def test_no_import_cycle_passes_through_the_checked_packages() -> None:
    modules = _modules()
    assert all(any(name.startswith(f"{package}.") for name in modules) for package in CHECKED)
    assert _cycles_through(CHECKED) == []


def test_the_cycle_check_finds_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, text in {"a.py": "from bot import b\n", "b.py": "def f():\n    import bot.a\n",
                       "__init__.py": ""}.items():
        (tmp_path / "bot").mkdir(exist_ok=True)
        (tmp_path / "bot" / name).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGES", ("bot",))
    assert _cycles_through(("bot.a",)) == [["bot.a", "bot.b", "bot.a"]]


@pytest.mark.parametrize("module", sorted(n for n in _modules() if n.startswith("bot.privacy")))
def test_each_privacy_module_imports_alone(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
