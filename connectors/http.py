"""The HTTP client of the provider APIs (Twilio, Telegram): asynchronous (aiohttp), with
retries and backoff on 429 (honouring Retry-After), 5xx and connection errors; never on other
4xx, which retrying cannot fix."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiResult:
    ok: bool
    status: int | None  # HTTP status of the last attempt (None: no answer)
    body: Any  # parsed JSON of the last answer, if any
    attempts: int
    retry_after: float | None = None  # a 429 asked for a pause longer than we wait in line


class HttpClient:
    """POST with retries: 429 (Retry-After honoured), 5xx and connection errors are retried
    with exponential backoff; other 4xx are final (retrying cannot fix a refused request).
    A 429 asking for more than ``max_wait`` seconds is not retried here: trying again sooner
    only prolongs the provider's limit (Telegram's flood control); the caller queues it."""

    def __init__(self, attempts: int = 5, backoff: float = 0.5, max_wait: float = 30.0,
                 timeout: float = 15.0) -> None:
        self.attempts, self.backoff, self.max_wait = attempts, backoff, max_wait
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        return min(self.backoff * 2 ** (attempt - 1), self.max_wait) * random.uniform(0.8, 1.2)

    async def post(self, url: str, *, data: dict | None = None, json_body: dict | None = None,
                   auth: aiohttp.BasicAuth | None = None) -> ApiResult:
        return await self._request("POST", url, data=data, json_body=json_body, auth=auth)

    async def get(self, url: str, *, params: dict[str, str] | None = None,
                  auth: aiohttp.BasicAuth | None = None) -> ApiResult:
        return await self._request("GET", url, params=params, auth=auth)

    async def _request(self, method: str, url: str, *, data: dict | None = None,
                       json_body: dict | None = None, params: dict[str, str] | None = None,
                       auth: aiohttp.BasicAuth | None = None) -> ApiResult:
        status: int | None = None
        body: Any = None
        for attempt in range(1, self.attempts + 1):
            retry_after: float | None = None
            try:
                async with self._client().request(method, url, data=data, json=json_body,
                                                  params=params, auth=auth) as resp:
                    status = resp.status
                    text = await resp.text()
                    body = _json_or_text(text)
                    if status < 400:
                        return ApiResult(True, status, body, attempt)
                    if status != 429 and status < 500:
                        return ApiResult(False, status, body, attempt)
                    retry_after = _retry_after(resp.headers.get("Retry-After"), body)
                    logger.warning("%s %s: HTTP %s (attempt %d)", method, _redact(url), status,
                                   attempt)
                    if status == 429 and retry_after is not None and retry_after > self.max_wait:
                        return ApiResult(False, status, body, attempt, retry_after=retry_after)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status, body = None, {"error": type(exc).__name__}
                logger.warning("%s %s: %s (attempt %d)", method, _redact(url),
                               type(exc).__name__, attempt)
            if attempt < self.attempts:
                await asyncio.sleep(self._wait(attempt, retry_after))
        return ApiResult(False, status, body, self.attempts)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _retry_after(header: str | None, body: Any) -> float | None:
    if header:
        try:
            return float(header)
        except ValueError:
            when = email.utils.parsedate_to_datetime(header)
            if when is not None:
                return (when - datetime.now(timezone.utc)).total_seconds()
    if isinstance(body, dict):  # Telegram: {"parameters": {"retry_after": 5}}
        seconds = (body.get("parameters") or {}).get("retry_after")
        if isinstance(seconds, int | float):
            return float(seconds)
    return None


def _redact(url: str) -> str:
    """URLs in logs without the Telegram bot token."""
    head, sep, tail = url.partition("/bot")
    return f"{head}/bot***/{tail.split('/', 1)[-1]}" if sep else url



def retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500
