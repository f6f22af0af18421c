"""Fake Twilio REST API: ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (Basic auth), with
a ``Body`` or a Content API template (``ContentSid`` + ``ContentVariables``), and ``GET`` of the
same URL: the Message list, filtered by ``To``, ``From`` and ``DateSent>`` as Twilio's is."""

from __future__ import annotations

import base64
import email.utils
import itertools
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakes.server import Call, FakeApi, Scripted

_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")


class FakeTwilio(FakeApi):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self._ids = itertools.count(1)

    def decode(self, content_type: str, raw: str) -> dict[str, Any]:
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def key(self, call: Call) -> str:
        return str(call.body.get("To", ""))

    def _authorised(self, call: Call) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return call.headers.get("Authorization") == f"Basic {expected}"

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        parts = urlsplit(path)
        match = _PATH.match(parts.path)
        if not match or match["sid"] != self.account_sid:
            return 404, {"code": 20404, "message": "not found", "status": 404}
        if not self._authorised(Call(path, headers, {})):
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        since = query.get("DateSent>", "")
        with self._cond:
            accepted = [c for c in self.calls if c.status == 201]
        listed = []
        for call in reversed(accepted):  # newest first, as Twilio lists them
            if any(query.get(k) and call.body.get(k) != query[k] for k in ("To", "From")):
                continue
            day = time.strftime("%Y-%m-%d", time.gmtime(call.accepted_at))
            if since and day < since:
                continue
            listed.append({"sid": call.answer["sid"], "to": call.body["To"],
                           "from": call.body["From"], "body": call.body.get("Body", ""),
                           "status": "sent", "date_created": email.utils.formatdate(
                               call.accepted_at, usegmt=True)})
        return 200, {"messages": listed[:int(query.get("PageSize", 50))], "page": 0}

    def handle(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        match = _PATH.match(call.path)
        if not match or match["sid"] != self.account_sid:
            return 404, {"code": 20404, "message": "not found", "status": 404}, {}
        if not self._authorised(call):
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}, {}
        body = call.body
        if not body.get("To") or not body.get("From") or (
                "Body" not in body and "ContentSid" not in body):
            return 400, {"code": 21604, "message": "missing parameter", "status": 400}, {}
        if "ContentSid" in body:  # a template: its id, and variables as a JSON object
            if not _CONTENT_SID.fullmatch(body["ContentSid"]):
                return 400, {"code": 21655, "message": "ContentSid invalid", "status": 400}, {}
            try:
                variables = json.loads(body.get("ContentVariables") or "{}")
            except ValueError:
                variables = None
            if not isinstance(variables, dict) or not all(
                    isinstance(v, str) for v in variables.values()):
                return 400, {"code": 21656, "message": "ContentVariables invalid",
                             "status": 400}, {}
            sid = f"SM{next(self._ids):032x}"
            call.accepted_at = time.time()
            return 201, {"sid": sid, "status": "queued", "to": body["To"], "from": body["From"],
                         "body": "", "content_sid": body["ContentSid"]}, {}
        if len(body["Body"]) > 1600:
            return 400, {"code": 21617, "message": "body too long", "status": 400}, {}
        sid = f"SM{next(self._ids):032x}"
        call.accepted_at = time.time()
        return 201, {"sid": sid, "status": "queued", "to": body["To"], "from": body["From"],
                     "body": body["Body"]}, {}

    def delivered(self, to: str) -> list[str]:
        """Bodies Twilio accepted for ``to``, in order (templates left out)."""
        return [c.body["Body"] for c in self.calls_for(to)
                if c.status == 201 and "Body" in c.body]

    def wait_delivered(self, to: str, count: int = 1, timeout: float = 20.0) -> list[str]:
        calls = self.wait_for(to, count, timeout,
                              predicate=lambda c: c.status == 201 and "Body" in c.body)
        return [c.body["Body"] for c in calls]

    def templates(self, to: str) -> list[tuple[str, dict[str, str]]]:
        """(ContentSid, variables) of the templates Twilio accepted for ``to``, in order."""
        return [(c.body["ContentSid"], json.loads(c.body.get("ContentVariables") or "{}"))
                for c in self.calls_for(to) if c.status == 201 and "ContentSid" in c.body]

    def bodies_and_templates(self, to: str) -> list[str]:
        """What ``to`` received, in order: a body, or ``template:<ContentSid>``."""
        return [c.body["Body"] if "Body" in c.body else f"template:{c.body['ContentSid']}"
                for c in self.calls_for(to) if c.status == 201]

    @staticmethod
    def error(status: int, code: int, retry_after: int | None = None) -> Scripted:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return Scripted(status, {"code": code, "message": f"scripted {status}",
                                 "status": status}, headers)
