"""Measured fixes for Rasa 3.6 hot spots, applied in the Rasa server process only
(``bot.rasa_ext.apply``).

1. ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every
   action-server reply; with jsonschema 4.17 that first re-checks Rasa's fixed schema against
   the Draft 2020-12 meta-schema, ~20 ms of CPU per call, about 65% of our server's time per
   message (see docs/BENCHMARKS.md). Here the validator is built once; replies are still
   validated, with Rasa's own error message. Each event of a reply must match exactly one
   of the schema's 23 event kinds (``oneOf``), so every kind was tried on every event (~1 ms
   a reply); the kinds differ by their ``event`` constant, so a valid reply is recognised by
   trying only its own kind, and anything else goes through the full validator, for the
   same verdict and error.
2. ``RulePolicy._get_possible_keys`` checks every rule against every state of the
   conversation, each check reversing the rule's states and turning its lists back into
   tuples again (~8% of the server's time). Here each rule's reversed, converted states are
   kept, and the search stops once no rule is left; the same rules are found.

The patches refuse to apply to another Rasa version, where what they replace may have changed
(version.py).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET

from bot.rasa_ext.version import supported

logger = logging.getLogger(__name__)
ORIGINALS: dict[str, Any] = {}  # what the patches replaced (the tests compare against them)


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, instead of on every reply
    return cls(schema)


@lru_cache(maxsize=1)
def _event_kinds() -> tuple[Any, dict[str, list[Any]]] | None:
    """The reply schema without its ``oneOf`` over event kinds, and each kind's schema by
    its ``event`` constant; None if the schema is not shaped so (then: full validation)."""
    import copy

    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    try:
        items = schema["properties"]["events"]["items"]
        kinds = items.pop("oneOf")
        consts = [kind["properties"]["event"]["const"] for kind in kinds]
    except (KeyError, TypeError):
        return None
    if "event" not in items.get("required", ()) or not all(isinstance(c, str) for c in consts):
        return None  # an event of no kind or a kind without a string constant
    cls = validators.validator_for(schema)
    by_const: dict[str, list[Any]] = {}
    for const, kind in zip(consts, kinds, strict=True):
        by_const.setdefault(const, []).append(cls(kind))
    return cls(schema), by_const


def _surely_valid(result: Any) -> bool:
    """True only if the full validator would accept ``result``: the rest of the schema holds
    and each event matches exactly one kind (kinds with another constant cannot match: the
    ``event`` value is a required string)."""
    kinds = _event_kinds()
    if kinds is None:
        return False
    base, by_const = kinds
    if not base.is_valid(result):
        return False
    for event in result.get("events") or ():
        candidates = by_const.get(event["event"], ())
        if sum(1 for kind in candidates if kind.is_valid(event)) != 1:
            return False
    return True


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    if _surely_valid(result):
        return True
    try:
        _validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise e


# rule key (JSON of the rule's states) -> its states, newest first, lists back as tuples
_RULE_STATES: dict[str, list[dict[str, dict[str, Any]]]] = {}
_RULE_STATES_MAX = 50_000  # the keys come from the loaded model; a bound all the same


def _reversed_rule_states(rule_key: str) -> list[dict[str, dict[str, Any]]]:
    states = _RULE_STATES.get(rule_key)
    if states is None:
        states = [
            {kind: {k: tuple(v) if isinstance(v, list) else v for k, v in sub.items()}
             for kind, sub in state.items()}
            for state in reversed(json.loads(rule_key))
        ]
        if len(_RULE_STATES) >= _RULE_STATES_MAX:
            _RULE_STATES.clear()
        _RULE_STATES[rule_key] = states
    return states


def _rule_matches(rule_state: dict[str, dict[str, Any]],
                  conversation_state: dict[str, dict[str, Any]]) -> bool:
    """RulePolicy._does_rule_match_state on a converted rule state."""
    for kind, rule_sub_state in rule_state.items():
        conversation_sub_state = conversation_state.get(kind, {})
        for key, from_rule in rule_sub_state.items():
            from_conversation = conversation_sub_state.get(key)
            if from_rule == SHOULD_NOT_BE_SET:
                if from_conversation and from_conversation != SHOULD_NOT_BE_SET:
                    return False
            elif from_rule and from_conversation != from_rule:
                return False
    return True


def _is_rule_applicable(self: Any, rule_key: str, turn_index: int,
                        conversation_state: dict[str, dict[str, Any]]) -> bool:
    """RulePolicy._is_rule_applicable, with the rule's states converted once."""
    reversed_rule_states = _RULE_STATES.get(rule_key) or _reversed_rule_states(rule_key)
    if turn_index >= len(reversed_rule_states):
        return True
    rule_state = reversed_rule_states[turn_index]
    current_previous_action = conversation_state.get(PREVIOUS_ACTION)
    rule_previous_action = rule_state.get(PREVIOUS_ACTION)
    if not rule_previous_action and not current_previous_action:
        return True
    if not rule_previous_action or not current_previous_action:
        return False
    return _rule_matches(rule_state, conversation_state)


def _get_possible_keys(self: Any, lookup: dict[str, str],
                       states: list[dict[str, dict[str, Any]]]) -> set[str]:
    """RulePolicy._get_possible_keys: the rules whose states all hold, newest first. A rule
    with fewer states than the turns looked at holds from there on (as in
    ``_is_rule_applicable``), so it is set aside instead of being checked again."""
    settled: list[str] = []
    active = list(lookup)
    for i, state in enumerate(reversed(states)):
        if not active:
            break  # filtering nothing gives nothing
        current_previous_action = state.get(PREVIOUS_ACTION)
        still = []
        for key in active:
            rule_states = _RULE_STATES.get(key) or _reversed_rule_states(key)
            if i >= len(rule_states):
                settled.append(key)
                continue
            rule_state = rule_states[i]
            rule_previous_action = rule_state.get(PREVIOUS_ACTION)
            if not rule_previous_action and not current_previous_action:
                still.append(key)
            elif (rule_previous_action and current_previous_action
                  and _rule_matches(rule_state, state)):
                still.append(key)
        active = still
    return set(settled) | set(active)


def apply() -> bool:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.policies.rule_policy import RulePolicy

    if not supported("Rasa's hot spots"):
        return False
    patches = {
        (RemoteAction, "_validate_action_result"): _validate_action_result,
        (RulePolicy, "_is_rule_applicable"): _is_rule_applicable,
        (RulePolicy, "_get_possible_keys"): _get_possible_keys,
    }
    for (cls, name), patch in patches.items():
        ORIGINALS.setdefault(f"{cls.__name__}.{name}", getattr(cls, name))
        setattr(cls, name, patch)
    return True
