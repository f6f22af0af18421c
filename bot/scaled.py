"""The assistant scaled out on one machine: two Rasa servers and two action servers behind
nginx, one PostgreSQL for the conversations and the assistant's own tables, Redis for Rasa's
per-conversation locks, and the loket's inbox.

```
 channels, REST ──► nginx :RASA_PORT ──► rasa-1 ─┐        ┌─► actions-1
                    (round robin)   └──► rasa-2 ─┴► nginx ┴─► actions-2
                                          │   │    :ACTION_PORT
                           Redis (locks) ◄┘   └► PostgreSQL ◄── actions, inbox
```

``python -m bot serve-scaled`` (``make serve-scaled``) runs it in the foreground, data under
var/scaled/ (the PostgreSQL cluster persists between runs). Tests and benchmarks use
``ScaledStack`` directly. Every part is supervised (bot/serve.py ``Supervisor``): one that
dies is started again, PostgreSQL too (``pg_ctl start`` on the same cluster: it recovers).
See docs/SCALING.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from bot import model, rasa_server, services
from bot.rasa_ext import LOCK_STORE
from bot.serve import (
    Child,
    ProcessChild,
    Supervisor,
    local_address,
    prepare_database,
    run_until_signal,
    spawn_logged,
    stop_children,
    write_runtime_config,
)
from bot.settings import ROOT
from bot.tokens import stored_token

NAMES = ("postgres", "redis", "actions-1", "actions-2", "nginx", "rasa-1", "rasa-2", "inbox")
# stopped in this order: nothing new comes in, then the servers, then what they depend on
STOP_STAGES = (("inbox",), ("rasa-1", "rasa-2"), ("nginx", "actions-1", "actions-2"),
               ("redis",), ("postgres",))
DATABASE = "loket"
REPLICAS = 2


class PostgresChild(Child):
    name = "postgres"

    def __init__(self, server: services.PostgresServer) -> None:
        self.server = server

    def start(self) -> None:
        self.server.start()

    def pid(self) -> int | None:
        return self.server.pid()

    def status(self) -> str:
        return "postmaster gone"

    def terminate(self) -> None:
        self.server.terminate()

    def wait(self, timeout: float) -> bool:
        return self.server.wait(timeout)

    def force_stop(self) -> None:
        self.server.stop()


def _ports(overrides: Mapping[str, str], name: str, count: int) -> list[int]:
    given = [int(p) for p in overrides.get(name, "").split(",") if p.strip()]
    if given and len(given) != count:
        raise SystemExit(f"serve-scaled: {name} needs {count} ports, got {len(given)}")
    return given or [services.free_port() for _ in range(count)]


def _port(overrides: Mapping[str, str], name: str) -> int:
    return _ports(overrides, name, 1)[0]


class ScaledStack:
    """All processes of the scaled set-up; ``start()`` … ``stop()``.

    ``env`` is added to the servers' environment (channel settings, BOT_LOAD_DEMO…) and may
    fix the ports, else free ones are taken: RASA_PORT (the nginx front), ACTION_PORT (nginx
    in front of the action servers), INBOX_PORT, PG_PORT, REDIS_PORT, RASA_REPLICA_PORTS and
    ACTION_REPLICA_PORTS ("port,port"). RASA_TOKEN, else one generated and kept in the var
    folder. Data: ``base_dir/pg`` (the cluster), ``base_dir/var``, ``base_dir/run``
    (generated configuration); logs in ``log_dir`` (default ``base_dir/logs``).
    """

    def __init__(self, base_dir: Path, env: dict[str, str] | None = None,
                 log_dir: Path | None = None) -> None:
        self.base_dir = Path(base_dir).absolute()
        self.overrides = dict(env or {})
        self.log_dir = Path(log_dir) if log_dir else self.base_dir / "logs"
        self.var = self.base_dir / "var"
        self.run_dir = self.base_dir / "run"
        self.port, self.action_port, self.inbox_port = (
            _port(self.overrides, "RASA_PORT"), _port(self.overrides, "ACTION_PORT"),
            _port(self.overrides, "INBOX_PORT"))
        self.rasa_ports = _ports(self.overrides, "RASA_REPLICA_PORTS", REPLICAS)
        self.action_ports = _ports(self.overrides, "ACTION_REPLICA_PORTS", REPLICAS)
        self.redis_port = _port(self.overrides, "REDIS_PORT")
        # every local user can reach loopback: PostgreSQL and Redis ask for a password
        self.redis_password = stored_token(self.var, "redis_password")
        self.postgres = services.PostgresServer(self.base_dir / "pg",
                                                _port(self.overrides, "PG_PORT"),
                                                password=stored_token(self.var, "pg_password"))
        self.supervisor = Supervisor()
        self.token = self.overrides.get("RASA_TOKEN") or stored_token(self.var)
        # every action call through nginx carries it; each action server checks it
        self.action_token = (self.overrides.get("ACTION_TOKEN")
                             or stored_token(self.var, "action_token"))
        # the front listens where RASA_INTERFACE says (loopback unless set); the rest of the
        # set-up only ever on loopback
        self.interface = self.overrides.get("RASA_INTERFACE") or rasa_server.interface()

    # --- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """nginx in front of the Rasa servers: REST, HTTP API (with the token), webhooks."""
        return f"http://{local_address(self.interface)}:{self.port}"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.rasa_ports]

    @property
    def action_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.action_ports]

    @property
    def action_front_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def inbox_url(self) -> str:
        return f"http://127.0.0.1:{self.inbox_port}"

    @property
    def db_url(self) -> str:
        return self.postgres.url(DATABASE)

    @property
    def redis_url(self) -> str:
        """Without the password (``redis_password``)."""
        return f"redis://127.0.0.1:{self.redis_port}/1"

    # --- processes ---------------------------------------------------------------------------

    def _env(self, **extra: str) -> dict[str, str]:
        env = {**model.rasa_env(), **self.overrides, "BOT_DB_URL": self.db_url,
               "BOT_VAR_DIR": str(self.var), "RASA_TOKEN": self.token,
               "ACTION_TOKEN": self.action_token, "RASA_INTERFACE": self.interface, **extra}
        # one database: the tracker store (endpoints.yml) is what retention and the inbox's
        # export/delete of a family read too
        env["TRACKER_DB_URL"] = self.db_url
        return env

    def _process(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log_file = self.log_dir / f"{name}.log"
        child = ProcessChild(name, lambda: spawn_logged(cmd, env, log_file))
        self.supervisor.add(child)
        child.start()

    def _health_checks(self) -> dict[str, Callable[[], bool]]:
        checks: dict[str, Callable[[], bool]] = {
            "postgres": self.postgres.ready,
            "redis": lambda: services.redis_ping(self.redis_port,
                                                 password=self.redis_password),
            "nginx": lambda: (services.port_open(self.port, local_address(self.interface))
                              and services.port_open(self.action_port)),
            "inbox": lambda: services.http_ok(f"{self.inbox_url}/health"),
        }
        for i, url in enumerate(self.action_urls, 1):
            checks[f"actions-{i}"] = (lambda u=url: services.http_ok(f"{u}/health"))
        for i, url in enumerate(self.rasa_urls, 1):
            checks[f"rasa-{i}"] = (lambda u=url: services.http_ok(f"{u}/"))
        return checks

    def _unhealthy(self) -> list[str]:
        children = self.supervisor.children
        return [name for name, check in self._health_checks().items()
                if name not in children or not children[name].running() or not check()]

    def wait_healthy(self, timeout: float = 120, *, fatal_exit: bool = False) -> None:
        """Wait until every part answers (a restarted one included)."""
        deadline = time.monotonic() + timeout
        while unhealthy := self._unhealthy():
            if fatal_exit:  # while starting: a part that died is a configuration error
                dead = [n for n, c in self.supervisor.children.items() if not c.running()]
                if dead:
                    raise RuntimeError(f"serve-scaled: {', '.join(dead)} exited while "
                                       f"starting; logs in {self.log_dir}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"serve-scaled: not answering: {', '.join(unhealthy)}")
            time.sleep(0.3)

    def start(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        # a missing package is said before anything starts
        services.find_binary("redis-server", "redis-server")
        services.find_binary("nginx", "nginx-light", "/usr/sbin")
        model_file = model.ensure_model(quiet=True)
        py = sys.executable
        # tokens, generated configuration, logs (nginx's error log names request URLs):
        # readable by us only
        for folder in (self.var, self.run_dir, self.log_dir, self.base_dir / "nginx"):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
        try:
            self._process("redis", services.redis_command(
                self.redis_port, self.base_dir / "redis", self.redis_password), self._env())
            self.supervisor.add(PostgresChild(self.postgres)).start()
            self.postgres.create_database(DATABASE, exist_ok=True)
            merged = {**os.environ, **self.overrides}
            prepare_database(self.db_url, merged.get("BOT_LOAD_DEMO", "1") != "0")
            from bot import db

            db.dispose_engine(self.db_url)  # this process does not use it any more
            endpoints, credentials = write_runtime_config(
                action_url=f"{self.action_front_url}/webhook", action_token=self.action_token,
                tracker_url=self.db_url,
                # Rasa's own "redis" lock store lets two servers take one conversation at once
                lock_store={"type": LOCK_STORE, "url": "127.0.0.1", "port": self.redis_port,
                            "db": 1, "key_prefix": "loket", "password": self.redis_password},
                folder=self.run_dir, env=self.overrides)
            conf = services.write_nginx_conf(self.base_dir / "nginx", self.port,
                                             self.rasa_ports, self.action_port,
                                             self.action_ports, front_interface=self.interface)
            self._process("nginx", services.nginx_command(self.base_dir / "nginx", conf),
                          self._env())
            # no secret on a command line: tokens by environment (bot/tokens.py)
            for i, port in enumerate(self.action_ports, 1):
                self._process(f"actions-{i}", [py, "-m", "bot.action_server", "--actions",
                                               "bot.actions", "--port", str(port)],
                              self._env(ACTION_INTERFACE="127.0.0.1"))
            for i, port in enumerate(self.rasa_ports, 1):
                self._process(f"rasa-{i}", [
                    py, "-m", "bot.rasa_server", "run", "--enable-api",
                    "--model", str(model_file), "--endpoints", str(endpoints),
                    "--credentials", str(credentials), "--port", str(port),
                    "--interface", "127.0.0.1",
                ], self._env())
            self._process("inbox", [py, "-m", "bot", "inbox", "serve",
                                    "--port", str(self.inbox_port)],
                          self._env(RASA_URL=self.url))
            self.wait_healthy(max(1.0, deadline - time.monotonic()), fatal_exit=True)
        except BaseException:
            self.stop()
            raise
        self.supervisor.watch()

    def stop(self) -> None:
        self.supervisor.stop()  # first: stopping must not look like a crash
        children = self.supervisor.children
        for stage in STOP_STAGES:
            stop_children([children[n] for n in stage if n in children])

    def pid(self, name: str) -> int | None:
        return self.supervisor.children[name].pid()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one part's main process, as a crash would (the supervisor restarts it)."""
        if name not in NAMES:
            raise KeyError(name)
        self.supervisor.children[name].kill(sig)


# --- python -m bot serve-scaled ------------------------------------------------------------------

def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", 5005)),
                        help="nginx in front of the Rasa servers")
    parser.add_argument("--inbox-port", type=int,
                        default=int(os.environ.get("INBOX_PORT", 5080)))
    parser.add_argument("--base-dir", type=Path, default=ROOT / "var" / "scaled",
                        help="data (PostgreSQL cluster, var folder) and logs")


def run(args: argparse.Namespace) -> int:
    env = {name: os.environ[name] for name in (
        "ACTION_PORT", "PG_PORT", "REDIS_PORT", "RASA_REPLICA_PORTS", "ACTION_REPLICA_PORTS",
        "RASA_TOKEN", "ACTION_TOKEN", "RASA_INTERFACE") if os.environ.get(name)}
    env.update(RASA_PORT=str(args.port), INBOX_PORT=str(args.inbox_port))
    stack = ScaledStack(args.base_dir, env=env)
    started = time.monotonic()
    return run_until_signal(stack, lambda: (
        f"scaled set-up ready in {time.monotonic() - started:.0f} s on {stack.url} "
        f"(REST: /webhooks/rest/webhook; API token in {stack.var / 'rasa_token'} unless "
        f"RASA_TOKEN is set); Rasa servers {', '.join(stack.rasa_urls)}; inbox: "
        f"{stack.inbox_url}/inbox; PostgreSQL {stack.postgres.safe_url(DATABASE)} and Redis "
        f"{stack.redis_url} (passwords in {stack.var}); "
        f"logs in {stack.log_dir}"))
