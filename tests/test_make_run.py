"""``make run``: the assistant on the configured ports, a banner in the configured language,
and nothing left running after SIGTERM to make or Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from attack import connects, descendants, listener_pid, wait_until
from serving import ROOT, free_port

from bot import i18n

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to read its status."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("stop", ["SIGTERM to make", "Ctrl-C"])
def test_make_run_uses_the_ports_and_language_and_stops_everything(tmp_path: Path,
                                                                    stop: str) -> None:
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "INBOX_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_DB_URL", "TRACKER_DB_URL")}
    env.update({name: str(port) for name, port in ports.items()},
               BOT_VAR_DIR=str(tmp_path), RASA_TOKEN="t-" + os.urandom(4).hex(),
               BOT_DEFAULT_LANGUAGE="fr")
    log = tmp_path / "run.log"
    # its own session: Ctrl-C reaches the whole group (make and the chat), as in a terminal
    proc = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    assert proc.stdin is not None
    try:
        prompt = i18n.t("terminal_chat.prompt", "fr")
        assert wait_until(lambda: prompt in log.read_text() or proc.poll() is not None, 300)
        text = log.read_text()
        assert proc.poll() is None, text[-3000:]
        assert i18n.t("terminal_chat.starting", "fr") in text
        inbox = f"http://localhost:{ports['INBOX_PORT']}"
        assert i18n.t("terminal_chat.webchat", "fr", url=f"{inbox}/chat") in text
        # it chats with the Rasa server on RASA_PORT, not the default 5005
        proc.stdin.write(b"bonjour, c'est quoi l'accueil d'urgence ?\n")
        proc.stdin.flush()
        assert wait_until(lambda: "🤖" in log.read_text(), 60), log.read_text()[-3000:]

        started = descendants(proc.pid) - {proc.pid}
        listeners = {name: listener_pid(port) for name, port in ports.items()}
        assert all(listeners.values()), listeners
        assert set(listeners.values()) <= started  # the servers are ours, on those ports
        if stop == "Ctrl-C":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)  # make alone: it passes it on to the chat
        proc.wait(timeout=60)
        # make returns when the chat has stopped its servers (each waited for, or killed)
        assert wait_until(lambda: not any(map(_alive, started)), 30), \
            {pid: _alive(pid) for pid in started}
        assert not any(connects("127.0.0.1", port) for port in ports.values())
        assert i18n.t("terminal_chat.stopping", "fr") in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
