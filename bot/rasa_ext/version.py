"""The version guard of our patches of Rasa's internals (failsafe.py, speedups.py)."""

from __future__ import annotations

import logging

# The Rasa release whose internals the patches replace: what they replace may have changed in
# any other one, so there they are not applied.
PATCHED_RASA = "3.6.21"

logger = logging.getLogger(__name__)


def supported(what: str) -> bool:
    """Whether the installed Rasa is the one our patches were written for; a warning if not."""
    import rasa

    if rasa.__version__ == PATCHED_RASA:
        return True
    logger.warning("rasa %s (not %s): %s left unpatched", rasa.__version__, PATCHED_RASA, what)
    return False
