"""The local cluster's processes: started in their own session, recorded by pid, stopped by pid.

Why it exists: every component of the local cluster is a plain process of this host. One place
starts them (optionally in a node's network namespace), knows whether the one we started still
runs (the pid file holds the pid and the executable, so a recycled pid is never mistaken for ours),
and stops them, SIGTERM first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


class ClusterError(Exception):
    """A failure with a one-line explanation for the user."""


class Processes:
    """The pid files and logs of one cluster's state directory."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.pids = state / "pids"
        self.logs = state / "logs"

    def pid_file(self, name: str) -> Path:
        return self.pids / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def running(self, name: str) -> int | None:
        """The pid recorded for a process, if that process is still the one we started."""
        try:
            pid, exe = self.pid_file(name).read_text().split("\n", 1)
            cmdline = Path(f"/proc/{int(pid)}/cmdline").read_bytes().split(b"\0")[0].decode()
        except (OSError, ValueError):
            return None
        return int(pid) if cmdline == exe.strip() else None

    def start(self, name: str, exe: Path, args: list[str], prefix: tuple[str, ...] = ()) -> None:
        """Starts `exe args` (after `prefix`, a command that execs it, such as nsenter)."""
        log = self.log(name).open("ab")
        proc = subprocess.Popen(
            [*prefix, str(exe), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.state,
        )
        self.pid_file(name).write_text(f"{proc.pid}\n{exe}\n")
        # until the child has exec'd, /proc shows python's (or the prefix's) command line
        deadline = time.monotonic() + 5
        while self.running(name) is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self, name: str, grace: float = 10.0) -> bool:
        pid = self.running(name)
        self.pid_file(name).unlink(missing_ok=True)
        if pid is None:
            return False
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return True
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                if not Path(f"/proc/{pid}").exists() or is_zombie(pid):
                    return True
                time.sleep(0.1)
        return True

    def require_alive(self, name: str) -> None:
        if self.running(name) is None:
            tail = "".join(self.log(name).read_text(errors="replace").splitlines(True)[-5:])
            raise ClusterError(f"{name} exited; last lines of {self.log(name)}:\n{tail}")

    def wait_for(
        self, what: str, check: Callable[[], object], timeout: float, component: str | None = None
    ) -> None:
        wait_for(what, check, timeout, (lambda: self.require_alive(component)) if component else None)


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def wait_for(
    what: str, check: Callable[[], object], timeout: float, alive: Callable[[], None] | None = None
) -> None:
    """Polls `check` until it is true; `alive` raises when the process it waits on has died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if alive:
            alive()
        try:
            if check():
                return
        except Exception as exc:  # the component is still starting
            last = exc
        time.sleep(0.25)
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" ({last})" if last else ""))


def port_busy(host: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return bool(resp.status == 200)
