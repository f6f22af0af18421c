"""The staff interface's texts: ``locales/staff/<lang>.yml`` (Dutch default, English).

Separate from the families' catalogs in ``locales/<lang>.yml``: staff read Dutch or English,
families any of the six languages. Strict like ``bot.i18n``: a missing key is an error.
"""

from __future__ import annotations

from functools import cache

import yaml

from bot.i18n import _flatten
from bot.settings import LOCALES_DIR

LANGUAGES: tuple[str, ...] = ("nl", "en")
DEFAULT = "nl"
STAFF_DIR = LOCALES_DIR / "staff"


class MissingStaffText(KeyError):
    pass


@cache
def catalog(lang: str) -> dict[str, str]:
    with (STAFF_DIR / f"{lang}.yml").open(encoding="utf-8") as fh:
        tree = yaml.safe_load(fh) or {}
    flat: dict[str, str] = {}
    _flatten(tree, "", flat)
    return flat


def language(*candidates: str | None) -> str:
    """The first supported staff language among ``candidates`` (e.g. ?lang=, the user's)."""
    for lang in candidates:
        if lang in LANGUAGES:
            return lang
    return DEFAULT


def st(key: str, lang: str, **params: object) -> str:
    text = catalog(language(lang)).get(key)
    if not text:
        raise MissingStaffText(f"{lang}:{key}")
    return text.format(**params) if params else text


def has(key: str, lang: str) -> bool:
    return bool(catalog(language(lang)).get(key))
