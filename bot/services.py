"""Local servers the assistant can run next to itself: PostgreSQL, Redis and nginx.

Used by the scaled set-up (``bot/scaled.py``: ``make serve-scaled``) and by the tests
(``tests/pg.py``: one throwaway PostgreSQL cluster per test process).

PostgreSQL
- Binaries: ``$PG_BIN`` if set, else the newest ``/usr/lib/postgresql/<version>/bin`` with
  ``initdb`` and ``pg_ctl`` (Debian package ``postgresql``).
- ``initdb`` and the server refuse to run as root: as root the cluster folder belongs to the
  ``postgres`` system user and ``initdb``/``pg_ctl`` run through ``runuser -u postgres --``.
  That user must be able to reach the folder; when it cannot (a root-only parent such as
  pytest's ``/tmp/pytest-of-root``) the cluster lives in ``/tmp/loket-pg-<hash>`` and the
  asked folder gets a symlink to it (stale ones are swept when their owner folder is gone).
- Loopback only on the given port, unix socket inside the cluster folder (only the cluster's
  owner can enter it). With a ``password`` (the scaled set-up) a TCP connection needs it
  (scram-sha-256; every local user can reach loopback), the socket does not; without one
  (the tests' throwaway clusters) ``trust``. Durable by default; ``durable=False`` (tests)
  turns fsync, synchronous_commit and full_page_writes off.

Redis and nginx are plain foreground processes: this module gives their command lines and
configuration; bot/serve.py starts and supervises them. Redis's password goes in its
configuration file (mode 600), not on its command line.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PG_INSTALL_HINT = "apt-get install -y postgresql  (Debian/Ubuntu; or set PG_BIN to its bin dir)"
PG_COMMON_OPTIONS = "-c max_connections=200 -c shared_buffers=128MB"
PG_THROWAWAY_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
FALLBACK_PREFIX = "loket-pg-"


class ServiceUnavailable(RuntimeError):
    pass


class PostgresUnavailable(ServiceUnavailable):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: a container's PID 1 may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    with socket.socket() as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


# --- PostgreSQL ------------------------------------------------------------------------------

def find_pg_bin_dir() -> Path:
    candidates = [os.environ["PG_BIN"]] if os.environ.get("PG_BIN") else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: float(Path(p).parent.name) if Path(p).parent.name.replace(
            ".", "", 1).isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in "
        f"{os.environ.get('PG_BIN') or '/usr/lib/postgresql/*/bin'}; install them: "
        f"{PG_INSTALL_HINT}"
    )


def _reachable_by_postgres(path: Path) -> bool:
    """Whether the postgres user can get to ``path`` (or its nearest existing parent)."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    check = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(existing)],
                           capture_output=True, timeout=30)
    return check.returncode == 0


def _sweep_fallback_clusters() -> None:
    """Delete fallback clusters whose owner folder is gone and whose server is not running."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FALLBACK_PREFIX}*"):
        owner = folder / "owner"
        try:
            if Path(owner.read_text().strip()).exists():
                continue
        except OSError:
            continue  # not ours, or being created right now
        pid_file = folder / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            if pid_alive(int(pid_file.read_text().split()[0])):
                continue
        shutil.rmtree(folder, ignore_errors=True)


class PostgresServer:
    """One cluster in ``folder`` (created on first start, reused afterwards).

    ``start()`` → ``url()`` → ``stop()``; ``pid()`` is the postmaster's, ``None`` when it is
    not running (killed, crashed): ``start()`` again recovers the cluster from its WAL.
    """

    def __init__(self, folder: Path, port: int | None = None, *, durable: bool = True,
                 options: str = "", password: str | None = None) -> None:
        self.password = password
        self.bin_dir = find_pg_bin_dir()
        self.as_root = os.geteuid() == 0
        self.requested = Path(folder)
        self.folder = self.requested
        self.port = port or free_port()
        self.durable = durable
        self.options = options
        self._last_pid: int | None = None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def _cmd(self, *argv: str) -> list[str]:
        command = [str(self.bin_dir / argv[0]), *argv[1:]]
        return ["runuser", "-u", "postgres", "--", *command] if self.as_root else command

    def _run(self, *argv: str, timeout: float = 120) -> None:
        result = subprocess.run(self._cmd(*argv), capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )

    def _place(self) -> None:
        """Choose the folder the postgres user can reach (see the module doc)."""
        if not self.as_root:
            self.requested.mkdir(parents=True, exist_ok=True)
            return
        if self.requested.is_symlink() or _reachable_by_postgres(self.requested.parent):
            self.folder = self.requested.resolve()
        else:
            _sweep_fallback_clusters()
            tag = hashlib.sha1(str(self.requested.resolve()).encode()).hexdigest()[:12]
            self.folder = Path(tempfile.gettempdir()) / f"{FALLBACK_PREFIX}{tag}"
            self.requested.parent.mkdir(parents=True, exist_ok=True)
            self.requested.symlink_to(self.folder, target_is_directory=True)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.folder / "owner").write_text(str(self.requested.absolute()))
        shutil.chown(self.folder, user="postgres", group="postgres")

    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def start(self, timeout: int = 60) -> None:
        self._place()
        if not self.initialized():
            shutil.rmtree(self.data, ignore_errors=True)  # a half-done initdb
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--no-locale", *([] if self.durable else ["--no-sync"]))
        if self._last_pid:
            # backends of a killed postmaster keep its shared memory, and its pid in the lock
            # file counts until it is reaped: a new postmaster would refuse to start
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._last_pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while Path(f"/proc/{self._last_pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        if self.password:
            self._write_hba()
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.folder} {PG_COMMON_OPTIONS} "
                   f"{'' if self.durable else PG_THROWAWAY_OPTIONS} {self.options}")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", str(timeout), "start", timeout=timeout + 30)
        self._last_pid = self.pid()
        if self.password:
            self._set_password()

    def _write_hba(self) -> None:
        """Rewritten at every start: a cluster made before it had a password gets one."""
        path = self.data / "pg_hba.conf"
        path.write_text("# generated by bot/services.py at every start\n"
                        "local all all trust\n"
                        "host all all 127.0.0.1/32 scram-sha-256\n"
                        "host all all ::1/128 scram-sha-256\n")
        path.chmod(0o600)
        if self.as_root:
            shutil.chown(path, user="postgres", group="postgres")

    def _set_password(self) -> None:
        import psycopg2

        # over the socket (trust, reachable by the owner only): the TCP side needs it set
        connection = psycopg2.connect(host=str(self.folder), port=self.port, user="postgres",
                                      dbname="postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET password_encryption = 'scram-sha-256'")
                cursor.execute("ALTER ROLE postgres PASSWORD %s", (self.password,))
        finally:
            connection.close()

    def pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    def terminate(self) -> None:
        """Ask for a fast shutdown (clients disconnected, a clean checkpoint); don't wait."""
        if self.running():
            subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-W",
                                     "stop"), capture_output=True, timeout=60)

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self) -> None:
        self.terminate()
        if not self.wait(60):
            subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w",
                                     "stop"), capture_output=True, timeout=60)

    def remove(self) -> None:
        """Delete the cluster (stopped first), and the symlink to it if there is one."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.requested.is_symlink():
            self.requested.unlink()

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL, with the password: give it by environment or a private file,
        never on a command line or in a log (``safe_url``)."""
        from urllib.parse import quote

        login = f"postgres:{quote(self.password, safe='')}" if self.password else "postgres"
        return f"postgresql+psycopg2://{login}@127.0.0.1:{self.port}/{database}"

    def safe_url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _connect(self, **options: object) -> Any:
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                password=self.password, **options)

    def _admin(self, statement: str) -> bool:
        """Run ``statement`` on the maintenance database; whether it returned a row."""
        connection = self._connect(dbname="postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
                return cursor.description is not None and cursor.fetchone() is not None
        finally:
            connection.close()

    def create_database(self, name: str | None = None, exist_ok: bool = False) -> str:
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        if not (exist_ok and self._admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")):
            self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def ready(self) -> bool:
        """Accepts connections (not only a live postmaster: recovery may still run)."""
        import psycopg2

        try:
            self._connect(dbname="postgres", connect_timeout=2).close()
        except psycopg2.Error:
            return False
        return True


# --- Redis and nginx -------------------------------------------------------------------------

def find_binary(name: str, package: str, *extra_dirs: str) -> str:
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in extra_dirs if (Path(d) / name).exists()), None)
    if not found:
        raise ServiceUnavailable(f"{name} not found; install it: apt-get install -y {package}")
    return found


def redis_command(port: int, folder: Path, password: str | None = None) -> list[str]:
    """A Redis for Rasa's conversation locks only: nothing worth persisting (a lock lives
    seconds), so no snapshots and no append-only file. Its password (every local user can
    reach loopback) is in a configuration file only we can read."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    conf = folder / "redis.conf"
    conf.unlink(missing_ok=True)
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"requirepass {password}\n" if password else "")
    return [find_binary("redis-server", "redis-server"), str(conf), "--port", str(port),
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder),
            "--daemonize", "no"]


def redis_ping(port: int, timeout: float = 1.0, password: str | None = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            if password:
                sock.sendall(f"AUTH {password}\r\n".encode())
                if not sock.recv(16).startswith(b"+OK"):
                    return False
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _upstream(name: str, ports: Sequence[int]) -> str:
    # one failure takes a server out for 3 s: a killed replica is skipped, a restarted one is
    # back soon
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;"
                        for p in ports)
    return f"    upstream {name} {{\n{servers}\n        keepalive 16;\n    }}\n"


def write_nginx_conf(prefix: Path, front_port: int, rasa_ports: Sequence[int],
                     action_front_port: int, action_ports: Sequence[int], *,
                     front_interface: str = "127.0.0.1") -> Path:
    """nginx in front of the Rasa replicas (round robin) and of the action servers.

    The front listens on ``front_interface`` (RASA_INTERFACE; loopback by default), the
    action servers' side on loopback only.

    Everything (pid, temp folders, error log) stays inside ``prefix``, so nginx runs without
    system folders. Responses and request bodies are kept in memory, never in temp files:
    the workers may run as another user than the one owning ``prefix``.
    """
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)  # nginx makes only the last level
    temp = "\n".join(f"    {kind}_temp_path {prefix / 'tmp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    proxy = """            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_next_upstream_tries 2;"""
    front = (f"[{front_interface}]:{front_port}" if ":" in front_interface
             else f"{front_interface}:{front_port}")
    conf = f"""# generated by bot/services.py; edits are overwritten at start-up
worker_processes 1;
error_log {prefix / 'error.log'} warn;
pid {prefix / 'nginx.pid'};
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    client_body_buffer_size 1m;
    client_max_body_size 1m;
    proxy_buffer_size 64k;
    proxy_buffers 64 64k;
    proxy_max_temp_file_size 0;
{_upstream('rasa', rasa_ports)}{_upstream('actions', action_ports)}
    # Rasa: REST, HTTP API, channel webhooks. A POST is retried on the other replica only
    # when this one failed before answering (dead, refused, 502); a webhook delivered twice
    # is dropped by the channel message store's unique key. The long read timeout keeps a
    # slow turn from being sent to the other replica as well.
    server {{
        listen {front};
        location / {{
            proxy_pass http://rasa;
{proxy}
            proxy_read_timeout 300s;
            proxy_next_upstream error timeout http_502 non_idempotent;
        }}
    }}
    # Action servers: Rasa's action_endpoint. An action call may have side effects: it is
    # retried on the other server only when it was not sent (or the server said 502/503).
    server {{
        listen 127.0.0.1:{action_front_port};
        location / {{
            proxy_pass http://actions;
{proxy}
            proxy_read_timeout 120s;
            proxy_next_upstream error timeout http_502 http_503;
        }}
    }}
}}
"""
    path = prefix / "nginx.conf"
    path.write_text(conf)
    return path


def nginx_command(prefix: Path, conf: Path) -> list[str]:
    binary = find_binary("nginx", "nginx-light", "/usr/sbin")
    # -e: the error log before the configuration is read (else the compiled-in system path)
    return [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf),
            "-g", "daemon off;"]
