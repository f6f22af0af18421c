"""The action server (rasa_sdk with ``bot.actions``), reachable by the Rasa server only.

``python -m bot.action_server --actions bot.actions --port 5055`` takes rasa_sdk's own
options and runs rasa_sdk's own server, with two differences:

- it listens on ``ACTION_INTERFACE`` (default 127.0.0.1), not on every interface: rasa_sdk
  3.6's ``run()`` reads its host from ``SANIC_HOST``, which is set here;
- every request but ``GET /health`` needs the action token (bot/tokens.py) as the ``token``
  query parameter, which Rasa sends with every call when endpoints.yml's action_endpoint has
  ``token:``. Without it: 401, and no action runs. An action may erase a family's data or
  put a conversation at the top of the loket's queue: only our Rasa server may ask for one.

CORS stays off (rasa_sdk's default without ``--cors``): no browser page has business here.
"""

from __future__ import annotations

import logging
import os
import sys

import pluggy
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import tokens

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")
OPEN_PATHS = frozenset({"/health"})  # the supervisor's liveness check; it tells nothing


class TokenGuard:
    """A rasa_sdk plugin: a request middleware in front of every route."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def check(self, request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or tokens.matches(request.args.get("token"), self.token):
            return None
        logger.warning("action server: refused %s %s without the action token",
                       request.method, request.path)
        return response.json({"error": "unauthorized"}, status=401)

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.register_middleware(self.check, "request")


def interface() -> str:
    return os.environ.get("ACTION_INTERFACE", "127.0.0.1")


def main(argv: list[str] | None = None) -> None:
    from rasa_sdk.__main__ import main_from_args
    from rasa_sdk.endpoint import create_argument_parser
    from rasa_sdk.plugin import plugin_manager

    args = create_argument_parser().parse_args(argv)
    plugin_manager().register(TokenGuard(tokens.action_token()))
    os.environ["SANIC_HOST"] = interface()
    main_from_args(args)


if __name__ == "__main__":
    main(sys.argv[1:])
