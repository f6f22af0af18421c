"""Where the servers' secrets come from, how the Rasa server is started without its token on
the command line, which conversation ids the REST channel refuses, what credentials.yml and
endpoints.yml say (the running stack is tried in tests/test_attacks*.py)."""

from __future__ import annotations

import os
import stat

import pytest
import yaml

from bot import rasa_server, tokens
from connectors import RESERVED_PREFIXES, local_channels, rest_mode


def test_a_token_comes_from_the_environment_a_file_or_the_var_folder(tmp_path,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("ACTION_TOKEN", raising=False)
    monkeypatch.delenv("ACTION_TOKEN_FILE", raising=False)
    generated = tokens.action_token()
    assert len(generated) >= 40 and tokens.action_token() == generated
    path = tmp_path / "var" / "action_token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    secret_file = tmp_path / "from-the-vault"
    secret_file.write_text("vault-token\n")
    monkeypatch.setenv("ACTION_TOKEN_FILE", str(secret_file))
    assert tokens.action_token() == "vault-token"
    monkeypatch.setenv("ACTION_TOKEN", "env-token")
    assert tokens.action_token() == "env-token"


def test_token_comparison_and_bearer_header() -> None:
    assert tokens.matches("abc", "abc")
    assert not tokens.matches("abd", "abc") and not tokens.matches(None, "abc")
    assert not tokens.matches("", "")  # no configured token never matches
    assert tokens.bearer("Bearer abc") == "abc" and tokens.bearer("bearer  abc ") == "abc"
    assert tokens.bearer("Basic abc") is None and tokens.bearer(None) is None


def test_the_rasa_server_gets_its_token_inside_the_process(monkeypatch) -> None:
    monkeypatch.delenv("RASA_INTERFACE", raising=False)
    argv = rasa_server.rasa_argv(["run", "--enable-api", "--port", "5005"], "-tok")
    assert argv == ["rasa", "run", "--enable-api", "--port", "5005", "--interface",
                    "127.0.0.1", "--auth-token=-tok"]
    assert "--interface" in rasa_server.rasa_argv(["run", "--interface", "::1"], "t")
    assert rasa_server.rasa_argv(["run", "--interface=0.0.0.0"], "t").count("--interface") == 0
    with pytest.raises(SystemExit):
        rasa_server.rasa_argv(["run", "--auth-token", "x"], "t")
    with pytest.raises(SystemExit):
        rasa_server.rasa_argv(["run", "--auth-token=x"], "t")


def test_reserved_ids() -> None:
    from connectors.rest import reserved

    assert RESERVED_PREFIXES == ("whatsapp", "sms", "telegram", "webchat", "twilio")
    for sender in ("whatsapp:+32470", "SMS:+32470", " telegram:5", "webchat:abc",
                   "WhatsApp :+32"):
        assert reserved(sender), sender
    for sender in ("e2e-nl-1", "terminal-1234", "converse:nl:3", "whatsapp"):
        assert not reserved(sender), sender


@pytest.mark.parametrize(("interface", "mode", "expected"), [
    ("", "", "open"), ("127.0.0.1", "", "open"), ("::1", "", "open"),
    ("0.0.0.0", "", "token"), ("192.0.2.2", "", "token"),
    ("0.0.0.0", "open", "open"), ("", "off", "off"), ("", "TOKEN", "token"),
])
def test_rest_mode(monkeypatch, interface: str, mode: str, expected: str) -> None:
    monkeypatch.setenv("RASA_INTERFACE", interface)
    monkeypatch.setenv("BOT_REST_CHANNEL", mode)
    assert rest_mode() == expected
    channels = local_channels()
    assert "connectors.rest.WebChatChannel" in channels
    assert ("connectors.rest.RestChannel" in channels) == (expected != "off")


def test_rest_mode_refuses_a_typo(monkeypatch) -> None:
    monkeypatch.setenv("BOT_REST_CHANNEL", "closed")
    with pytest.raises(SystemExit, match="BOT_REST_CHANNEL"):
        rest_mode()


def test_runtime_configuration_carries_the_action_token(tmp_path, monkeypatch) -> None:
    from bot.serve import write_runtime_config

    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ACTION_TOKEN", "act-123")
    monkeypatch.delenv("BOT_REST_CHANNEL", raising=False)
    monkeypatch.delenv("RASA_INTERFACE", raising=False)
    endpoints, credentials = write_runtime_config(5055)
    data = yaml.safe_load(endpoints.read_text())
    assert data["action_endpoint"] == {"url": "http://127.0.0.1:5055/webhook",
                                       "token": "act-123"}
    assert stat.S_IMODE(os.stat(endpoints).st_mode) == 0o600
    assert set(yaml.safe_load(credentials.read_text())) >= {
        "connectors.rest.RestChannel", "connectors.rest.WebChatChannel"}
    assert "rest" not in yaml.safe_load(credentials.read_text())  # not Rasa's open one
