"""Moved to ``connectors/messages.py`` (the channel message store lives with the channels).

Kept only for ``bot/inbox/`` (rewritten on another branch), which still imports this path: the
alias is the very same module object, so a model is declared once and a test's monkeypatch
reaches both names.
"""

import sys

from connectors import messages as _messages

sys.modules[__name__] = _messages
