"""The Rasa hot-spot fix still validates action-server replies exactly as Rasa does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups


def test_patched_validation_accepts_good_and_rejects_bad_replies() -> None:
    assert rasa_speedups.apply()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [], "responses": [{"text": "hoi"}]})
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list"})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"timestamp": 1}]})  # an event needs a type
