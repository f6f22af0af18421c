"""Measured fixes for Rasa 3.6 hot spots, applied in the Rasa server process only.

``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every action-server
reply; with jsonschema 4.17 that first re-checks Rasa's fixed schema against the Draft 2020-12
meta-schema, ~20 ms of CPU per call, about 65% of our server's time per message (see
docs/BENCHMARKS.md). Here the validator is built once; replies are still validated, with
Rasa's own error message. The patch refuses to apply to another Rasa version, where the
method it replaces may have changed.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)
PATCHED_RASA = "3.6.21"


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, instead of on every reply
    return cls(schema)


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

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


def apply() -> bool:
    import rasa
    from rasa.core.actions.action import RemoteAction

    if rasa.__version__ != PATCHED_RASA:
        logger.warning("rasa %s: action-result validation left unpatched", rasa.__version__)
        return False
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    return True
