"""The Rasa hot-spot fixes (bot/rasa_ext/speedups.py) behave exactly as the Rasa code they
replace: action-server replies are still validated, the rule search finds the same rules."""

from __future__ import annotations

import json
import random
from datetime import datetime

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import SHOULD_NOT_BE_SET

from bot.rasa_ext import speedups


def test_patched_validation_accepts_good_and_rejects_bad_replies() -> None:
    assert speedups.apply()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [], "responses": [{"text": "hoi"}]})
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list"})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"timestamp": 1}]})  # an event needs a type


def _random_state(rng: random.Random, rule: bool) -> dict:
    """A dialogue state as RulePolicy sees it, maybe a conversation start (no previous
    action). Rule states hold SHOULD_NOT_BE_SET; conversation states only in training, but
    the check covers them too."""
    state: dict = {}
    if rng.random() < 0.8:
        state["prev_action"] = {"action_name": rng.choice(["action_listen", "utter_a", "f"])}
    if rng.random() < 0.7:
        user = {"intent": rng.choice(["greet", "inform", "ask"])}
        if rng.random() < 0.4:
            user["entities"] = tuple(rng.sample(["city", "age", "date"], rng.randint(1, 2)))
        state["user"] = user
    if rng.random() < 0.6:
        values = [(1.0,), (0.0,), SHOULD_NOT_BE_SET] + ([] if rule else [None])
        state["slots"] = {name: rng.choice(values) for name in rng.sample(["a", "b"], 1)}
    if rng.random() < 0.5:
        names = ["f", "g", SHOULD_NOT_BE_SET]
        state["active_loop"] = {"name": rng.choice(names)}
    return state


def test_patched_rule_search_finds_the_same_rules() -> None:
    """Against Rasa's own RulePolicy._get_possible_keys, on many random rules and dialogues:
    the rule keys are JSON, as in a trained model (tuples become lists)."""
    assert speedups.apply()
    policy = object.__new__(RulePolicy)  # the search uses no state of the policy
    rng = random.Random(8)
    lookup = {json.dumps([_random_state(rng, True) for _ in range(rng.randint(1, 4))]): "x"
              for _ in range(300)}
    dialogues = [[_random_state(rng, False) for _ in range(rng.randint(1, 6))]
                 for _ in range(400)]
    checks = [(key, i, state) for states in dialogues[:40] for i, state in enumerate(states)
              for key in lookup]

    def search() -> tuple[list, list]:
        return ([policy._get_possible_keys(lookup, states) for states in dialogues],
                [policy._is_rule_applicable(*check) for check in checks])

    found = search()
    with pytest.MonkeyPatch.context() as mp:  # Rasa's own code, unpatched
        for name in ("_is_rule_applicable", "_get_possible_keys"):
            mp.setattr(RulePolicy, name, speedups.ORIGINALS[f"RulePolicy.{name}"])
        original = search()
    assert found == original
    expected = original[0]
    assert sum(map(bool, expected)) > 20  # the comparison saw matches, not only empty sets
    assert 0 < sum(map(len, expected)) < 0.5 * len(lookup) * len(dialogues)  # and rejections


def _sample_events() -> list[dict]:
    """One event of every kind Rasa knows, as an action server would send it."""
    from rasa.shared.core import events as ev

    user = ev.UserUttered("hallo", {"name": "greet", "confidence": 0.9},
                          [{"entity": "city", "value": "Mechelen", "start": 0, "end": 3}],
                          parse_data={"intent_ranking": [{"name": "greet", "confidence": 0.9}]})
    made = [
        user, ev.ActionExecuted("action_x", policy="RulePolicy", confidence=1.0),
        ev.SlotSet("language", "nl"), ev.SlotSet("age", {"months": 8}),
        ev.EntitiesAdded([{"entity": "city", "value": "Mechelen"}]),
        ev.DefinePrevUserUtteredFeaturization(True), ev.ReminderCancelled("r"),
        ev.ReminderScheduled("greet", datetime(2026, 11, 25, 15, 0)),
        ev.ActionExecutionRejected("validate_form"), ev.LegacyFormValidation(False),
        ev.LoopInterrupted(True), ev.LegacyForm("f"), ev.ActiveLoop("priority_form"),
        ev.ActiveLoop(None), ev.AllSlotsReset(), ev.ConversationResumed(),
        ev.ConversationPaused(), ev.FollowupAction("action_y"), ev.StoryExported(),
        ev.Restarted(), ev.UserUtteranceReverted(), ev.ActionReverted(),
        ev.BotUttered("hoi", {"buttons": [{"title": "1", "payload": "/a"}]}),
        ev.SessionStarted(), ev.AgentUttered("x"),
    ]
    return [event.as_dict() for event in made]


def _broken(rng: random.Random, event: dict) -> dict:
    event = json.loads(json.dumps(event))
    key = rng.choice(sorted(event))
    change = rng.randrange(5)
    if change == 0:
        del event[key]
    elif change == 1:
        event[key] = rng.choice([1, "x", None, [], {}, 2.5, True])
    elif change == 2:
        event["event"] = rng.choice(["usr", "", 3, None])
    elif change == 3 and event.get("parse_data"):
        event["parse_data"]["entities"] = [{"entity": 1}]
    else:
        event[rng.choice(["name", "value", "text", "timestamp"])] = rng.choice([{}, [1], 7])
    return event


def test_fast_reply_check_agrees_with_the_full_validator() -> None:
    """The fast path accepts exactly what jsonschema accepts (on every event kind, and on
    broken ones), and a reply it refuses still gets jsonschema's own error."""
    assert speedups.apply()
    full = speedups._validator()
    action = RemoteAction("action_x", None)
    samples = _sample_events()
    rng = random.Random(3)
    replies: list = [{"events": [e], "responses": []} for e in samples]
    replies += [{"events": rng.sample(samples, 5), "responses": [{"text": "x"}]}
                for _ in range(50)]
    replies += [{"events": [_broken(rng, rng.choice(samples))]} for _ in range(400)]
    replies += [{}, {"events": None}, {"events": {}}, {"responses": "x"}, {"events": [[]]},
                {"events": [{"event": "user"}], "responses": [1]}]
    valid = 0
    for reply in replies:
        expected = full.is_valid(reply)
        assert speedups._surely_valid(reply) == expected, reply
        if expected:
            valid += 1
            assert action._validate_action_result(reply)
        else:
            with pytest.raises(ValidationError, match="Failed to validate Action server"):
                action._validate_action_result(reply)
    assert len(samples) <= valid < len(replies) - 100
