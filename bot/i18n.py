"""Every text a user reads: loaded from ``locales/<lang>.yml`` and rendered per language.

Keys are dotted paths into the YAML tree (``care_types.gezinsopvang``). Placeholders use
``str.format`` names (``{phone}``). A key that is missing or empty in the conversation's language
is an error: tests check completeness, and at run time it is logged loudly and Dutch is shown
rather than nothing (a family at 11 pm gets an answer, the team gets the error).
"""

from __future__ import annotations

import logging
import os
import string
from functools import cache
from typing import Any

import yaml

from bot.settings import DEFAULT_LANGUAGE, LANGUAGES, LOCALES_DIR, RTL_LANGUAGES

logger = logging.getLogger(__name__)

# data/languages.yml, through bot.settings: the one list of languages
SUPPORTED: tuple[str, ...] = LANGUAGES
DEFAULT = DEFAULT_LANGUAGE
RTL = RTL_LANGUAGES


class MissingText(KeyError):
    """A text key is absent or empty for a language."""


def default_language() -> str:
    """The language of texts shown before any conversation has one (``make run``'s banner):
    ``BOT_DEFAULT_LANGUAGE``, else Dutch. A value we do not speak is an error rather than a
    silent Dutch, so a typo in the setting is seen at once."""
    lang = (os.environ.get("BOT_DEFAULT_LANGUAGE") or DEFAULT).strip().lower()
    if lang not in SUPPORTED:
        raise ValueError(f"BOT_DEFAULT_LANGUAGE={lang!r}: choose one of {', '.join(SUPPORTED)}")
    return lang


@cache
def catalog(lang: str) -> dict[str, str]:
    """The flattened ``{dotted.key: text}`` catalog of one language."""
    path = LOCALES_DIR / f"{lang}.yml"
    with path.open(encoding="utf-8") as fh:
        tree = yaml.safe_load(fh) or {}
    flat: dict[str, str] = {}
    _flatten(tree, "", flat)
    return flat


def _flatten(node: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, f"{prefix}{key}.", out)
    else:
        out[prefix[:-1]] = "" if node is None else str(node)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def has(key: str, lang: str = DEFAULT) -> bool:
    return bool(catalog(lang).get(key))


def t(key: str, lang: str | None, **params: Any) -> str:
    """Render ``key`` in ``lang`` with ``params``."""
    lang = lang if lang in SUPPORTED else DEFAULT
    text = catalog(lang).get(key)
    if not text:
        if os.environ.get("BOT_STRICT_I18N") == "1" or lang == DEFAULT:
            raise MissingText(f"{lang}:{key}")
        logger.error("missing text %s:%s, showing Dutch", lang, key)
        text = catalog(DEFAULT).get(key) or ""
        if not text:
            raise MissingText(f"{DEFAULT}:{key}")
    return text.format(**params) if params else text


def keys_under(prefix: str, lang: str = DEFAULT) -> list[str]:
    """Direct child names of a key prefix, in file order (e.g. the care types)."""
    seen: list[str] = []
    for key in catalog(lang):
        if key.startswith(prefix + "."):
            child = key[len(prefix) + 1 :].split(".", 1)[0]
            if child not in seen:
                seen.append(child)
    return seen


def language_menu() -> list[tuple[str, str]]:
    """``[(code, endonym)]`` for the numbered language menu, each name from its own locale."""
    return [(code, t("language_name", code)) for code in SUPPORTED]
