"""The attacker's view of ``make serve-scaled``: every port of the set-up tried as another
user of the machine, or a neighbour on its network, would try it. The REST channel is
token-guarded here (``BOT_REST_CHANNEL=token``), as when the front is exposed."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from typing import Any

import pytest
from attack import (
    action_call,
    command_lines,
    connects,
    outside_address,
    request,
)

from bot import i18n

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from bot.scaled import ScaledStack

    base = tmp_path_factory.mktemp("attack-scaled")
    stack = ScaledStack(base, env={"BOT_REST_CHANNEL": "token"})
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        stack.postgres.remove()


def _ports(stack: Any) -> dict[str, int]:
    ports = {"front": stack.port, "actions (nginx)": stack.action_port,
             "inbox": stack.inbox_port, "postgres": stack.postgres.port,
             "redis": stack.redis_port}
    for i, port in enumerate(stack.rasa_ports, 1):
        ports[f"rasa-{i}"] = port
    for i, port in enumerate(stack.action_ports, 1):
        ports[f"actions-{i}"] = port
    return ports


def test_every_port_is_on_loopback_only(scaled: Any) -> None:
    address = outside_address()
    for name, port in _ports(scaled).items():
        assert connects("127.0.0.1", port), name
        assert not connects(address, port), f"{name} answers on {address}:{port}"


def test_no_action_runs_without_the_token(scaled: Any) -> None:
    for base in (f"http://127.0.0.1:{scaled.action_port}", *scaled.action_urls):
        for query in ("", "?token=guess", f"?token={scaled.token}"):
            answer = request("POST", f"{base}/webhook{query}",
                             action_call("action_delete_my_data", "whatsapp:+32470130001"))
            assert answer.status == 401, (base, query)
        assert request("GET", f"{base}/actions").status == 401
        assert request("GET", f"{base}/actions?token={scaled.action_token}").status == 200


def test_the_exposed_rest_channel_needs_the_token(scaled: Any) -> None:
    url = f"{scaled.url}/webhooks/rest/webhook"
    body = {"sender": "attack-scaled-1", "message": "welke soorten opvang zijn er?"}
    assert request("POST", url, body).status == 401
    assert request("POST", url, body, {"Authorization": "Bearer guess"}).status == 401
    token = {"Authorization": f"Bearer {scaled.token}"}
    answer = request("POST", url, body, token)
    # a whole turn: every bot text comes from a custom action, so an answer means Rasa
    # sent the action token through nginx
    assert answer.status == 200, answer.text
    texts = [m.get("text") for m in answer.json()]
    assert texts and all(texts) and i18n.t("channel.please_repeat", "nl") not in texts
    refused = request("POST", url, {"sender": "whatsapp:+32470130002", "message": "hallo"},
                      token)
    assert refused.status == 403
    assert request("GET", f"{scaled.url}/conversations/attack-scaled-1/tracker").status == 401


def test_postgres_and_redis_ask_for_their_passwords(scaled: Any) -> None:
    import psycopg2

    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(host="127.0.0.1", port=scaled.postgres.port, user="postgres",
                         dbname="loket", connect_timeout=5).close()
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(host="127.0.0.1", port=scaled.postgres.port, user="postgres",
                         password="guess", dbname="loket", connect_timeout=5).close()
    with psycopg2.connect(scaled.db_url.replace("postgresql+psycopg2", "postgresql")) as conn:
        assert conn.cursor().execute("SELECT 1") is None
    with socket.create_connection(("127.0.0.1", scaled.redis_port), timeout=5) as sock:
        sock.sendall(b"KEYS *\r\n")
        assert sock.recv(64).startswith(b"-NOAUTH")


def test_no_secret_on_a_command_line_or_in_a_readable_file(scaled: Any) -> None:
    secrets = {name: (scaled.var / name).read_text().strip()
               for name in ("rasa_token", "action_token", "pg_password", "redis_password",
                            "inbox_secret")}
    pids = {scaled.pid(name) for name in ("rasa-1", "rasa-2", "actions-1", "actions-2",
                                          "nginx", "redis", "inbox", "postgres")}
    assert None not in pids
    lines = command_lines()
    seen = 0
    for pid, line in lines.items():
        for name, value in secrets.items():
            assert value not in line, f"{name} in the command line of {pid}: {line}"
        seen += pid in pids
    assert seen == len(pids)
    for folder in (scaled.var, scaled.run_dir, scaled.log_dir, scaled.base_dir / "nginx",
                   scaled.base_dir / "redis"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for path in (scaled.run_dir / "endpoints.yml", scaled.base_dir / "redis" / "redis.conf",
                 *(scaled.var / name for name in secrets)):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
