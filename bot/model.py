"""The trained Rasa model: train only when none matches the current data and code.

A model is named by a hash of everything training reads (config, domain, training data,
vocabulary, our NLU components, the pinned dependencies). It is kept in ``models/`` and in a
cache outside the repo, so a fresh clone with unchanged inputs starts without training.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.settings import ROOT

INPUTS = (
    "config.yml",
    "domain.yml",
    "constraints.txt",
    "data/nlu",
    "data/dialogue",
    "data/vocab",
    "data/language_markers.yml",
    "bot/nlu",
    "bot/language.py",
    "bot/vocabulary.py",
    "bot/textnorm.py",
    "bot/i18n.py",
    "bot/settings.py",
)
TRAINING_DATA = ("data/nlu", "data/dialogue")


def _files(rel: str) -> list[Path]:
    path = ROOT / rel
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return [path] if path.exists() else []


def fingerprint() -> str:
    digest = hashlib.sha256()
    for rel in INPUTS:
        for path in _files(rel):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    base = os.environ.get("BOT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "loket-bot"
    )
    return Path(base) / "models"


def model_path() -> Path:
    return ROOT / "models" / f"{fingerprint()}.tar.gz"


def rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def ensure_model(quiet: bool = False) -> Path:
    """Path of a model trained on the current inputs, training one if needed."""
    target = model_path()
    if target.exists():
        return target
    cached = cache_dir() / target.name
    target.parent.mkdir(exist_ok=True)
    if cached.exists():
        shutil.copyfile(cached, target)
        return target
    cmd = [
        sys.executable, "-m", "rasa", "train",
        "--config", "config.yml", "--domain", "domain.yml",
        "--data", *TRAINING_DATA,
        "--out", "models", "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]
    print(f"model: training {target.name} (inputs changed or first run)", file=sys.stderr)
    subprocess.run(cmd, cwd=ROOT, env=rasa_env(), check=True,
                   stdout=subprocess.DEVNULL if quiet else None)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    shutil.copyfile(target, tmp)
    tmp.replace(cached)
    return target


if __name__ == "__main__":
    print(ensure_model())
