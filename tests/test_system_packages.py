"""scripts/system-packages.sh with a PATH of fakes: it installs what is missing as root or
through ``sudo -n``, prints the one install command when it can do neither, and does nothing
when everything is there."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.settings import ROOT

SCRIPT = ROOT / "scripts" / "system-packages.sh"
PACKAGES = ("postgresql", "chromium", "redis-server", "nginx-light")

# apt-get: logs its call (and DEBIAN_FRONTEND); `install` puts each package's program where
# the script looks for it, as the real package would.
APT_GET = r"""#!/bin/bash
echo "apt-get $* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >> "$FAKE_LOG"
[ "$1" = install ] || exit 0
[ -n "${FAKE_APT_BROKEN:-}" ] && exit 0  # "installed", yet nothing appeared
for arg in "$@"; do
  case "$arg" in
    postgresql) /bin/mkdir -p "$SYSTEM_PACKAGES_ROOT/usr/lib/postgresql/15/bin"
                for f in initdb pg_ctl; do
                  : > "$SYSTEM_PACKAGES_ROOT/usr/lib/postgresql/15/bin/$f"
                  /bin/chmod +x "$SYSTEM_PACKAGES_ROOT/usr/lib/postgresql/15/bin/$f"
                done ;;
    chromium) /bin/mkdir -p "$SYSTEM_PACKAGES_ROOT/usr/bin"
              : > "$SYSTEM_PACKAGES_ROOT/usr/bin/chromium"
              /bin/chmod +x "$SYSTEM_PACKAGES_ROOT/usr/bin/chromium" ;;
    redis-server) : > "$FAKE_BIN/redis-server"; /bin/chmod +x "$FAKE_BIN/redis-server" ;;
    nginx-light) /bin/mkdir -p "$SYSTEM_PACKAGES_ROOT/usr/sbin"
                 : > "$SYSTEM_PACKAGES_ROOT/usr/sbin/nginx"
                 /bin/chmod +x "$SYSTEM_PACKAGES_ROOT/usr/sbin/nginx" ;;
  esac
done
"""
ID = """#!/bin/bash
echo "$FAKE_UID"
"""
# sudo: -n only (a prompt would hang an unattended run); VAR=value before the command is
# set for it, as the real sudo does
SUDO = r"""#!/bin/bash
echo "sudo $*" >> "$FAKE_LOG"
[ "$1" = -n ] || { echo "fake sudo: would prompt" >&2; exit 1; }
shift
[ "${FAKE_SUDO:-}" = ok ] || { echo "sudo: a password is required" >&2; exit 1; }
while [[ "${1:-}" == *=* ]]; do export "$1"; shift; done
exec "$@"
"""


@dataclass
class Machine:
    """A fake system: bin/ (the whole PATH) and root/ (where the fixed paths are)."""

    bin: Path
    root: Path
    log: Path

    def tool(self, name: str, text: str = "#!/bin/bash\n") -> None:
        path = self.bin / name
        path.write_text(text)
        path.chmod(0o755)

    def file(self, relative: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        path.chmod(0o755)

    def install_all(self) -> None:
        self.file("usr/lib/postgresql/15/bin/initdb")
        self.file("usr/lib/postgresql/15/bin/pg_ctl")
        self.file("usr/bin/chromium")
        self.file("usr/sbin/nginx")
        self.tool("redis-server")

    def run(self, uid: int = 1000, **env: str) -> subprocess.CompletedProcess[str]:
        # no PG_BIN, HOME or anything else from the real machine: only the fakes
        full = {"PATH": str(self.bin), "SYSTEM_PACKAGES_ROOT": str(self.root),
                "FAKE_LOG": str(self.log), "FAKE_BIN": str(self.bin), "FAKE_UID": str(uid),
                **env}
        return subprocess.run(["/bin/bash", str(SCRIPT)], env=full, capture_output=True,
                              text=True, timeout=30)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture()
def machine(tmp_path: Path) -> Machine:
    m = Machine(tmp_path / "bin", tmp_path / "root", tmp_path / "calls.log")
    m.bin.mkdir()
    m.root.mkdir()
    m.tool("apt-get", APT_GET)
    m.tool("id", ID)
    m.tool("sudo", SUDO)
    m.tool("true")  # what `sudo -n true` runs
    return m


def test_everything_present_does_nothing(machine: Machine) -> None:
    machine.install_all()
    done = machine.run(uid=1000)
    assert done.returncode == 0, done.stderr
    assert machine.calls() == []
    assert done.stdout == done.stderr == ""


def test_as_root_it_installs_only_what_is_missing(machine: Machine) -> None:
    machine.install_all()
    (machine.root / "usr/bin/chromium").unlink()
    (machine.bin / "redis-server").unlink()
    done = machine.run(uid=0)
    assert done.returncode == 0, done.stderr
    assert machine.calls() == [
        "apt-get update -qq DEBIAN_FRONTEND=noninteractive",
        "apt-get install -y -qq --no-install-recommends chromium redis-server "
        "DEBIAN_FRONTEND=noninteractive"]
    assert machine.run(uid=0).returncode == 0 and len(machine.calls()) == 2  # now all there


def test_without_root_it_installs_through_sudo_n(machine: Machine) -> None:
    done = machine.run(uid=1000, FAKE_SUDO="ok")
    assert done.returncode == 0, done.stderr
    wanted = " ".join(PACKAGES)
    assert machine.calls() == [
        "sudo -n true",
        "sudo -n DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        "apt-get update -qq DEBIAN_FRONTEND=noninteractive",
        f"sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        f"--no-install-recommends {wanted}",
        f"apt-get install -y -qq --no-install-recommends {wanted} "
        "DEBIAN_FRONTEND=noninteractive"]


@pytest.mark.parametrize("sudo", ["asks a password", "absent"])
def test_neither_root_nor_sudo_prints_the_command_and_stops(machine: Machine,
                                                            sudo: str) -> None:
    if sudo == "absent":
        (machine.bin / "sudo").unlink()
    machine.file("usr/sbin/nginx")
    done = machine.run(uid=1000)
    assert done.returncode == 1
    assert not [c for c in machine.calls() if c.startswith("apt-get")]
    assert ("sudo apt-get update && sudo apt-get install -y --no-install-recommends "
            "postgresql chromium redis-server\n") in done.stderr


def test_pg_bin_counts_as_postgresql(machine: Machine, tmp_path: Path) -> None:
    machine.install_all()
    for name in ("initdb", "pg_ctl"):
        (machine.root / "usr/lib/postgresql/15/bin" / name).unlink()
    own = tmp_path / "pg"
    own.mkdir()
    for name in ("initdb", "pg_ctl"):
        (own / name).write_text("")
        (own / name).chmod(0o755)
    assert machine.run(PG_BIN=str(own)).returncode == 0
    assert machine.calls() == []


def test_a_package_that_leaves_its_program_missing_fails(machine: Machine) -> None:
    machine.install_all()
    (machine.bin / "redis-server").unlink()
    done = machine.run(uid=0, FAKE_APT_BROKEN="1")
    assert done.returncode == 1
    assert "still missing after apt-get install: redis-server" in done.stderr


def test_no_apt_get_names_the_packages(machine: Machine) -> None:
    (machine.bin / "apt-get").unlink()
    done = machine.run(uid=0)
    assert done.returncode == 1
    assert "postgresql chromium redis-server nginx-light" in done.stderr
    assert machine.calls() == []
