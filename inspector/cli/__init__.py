"""The command line: a thin typer adapter over the live runs and the output, in rooms: the options and
output types (`options.py`), the output plumbing every command shares (`showing.py`), the commands
(`commands.py`), the one place failures become exit statuses (`running.py`), the values a TAB offers
(`candidates.py`) and kubectl's completion executable (`completing.py`), Go durations (`durations.py`),
and `serve`'s HTTP side (`exposing.py`: /metrics, /healthz, /readyz, /report, the stop on SIGTERM).

`main` is the executable's entry point. Before anything heavy is imported it puts the Ctrl-C handler
in place (one line, "interrupted", and 130, at any moment of a run) and, for supervisors and tests,
says so: with INSPECTOR_READY_FD=N in the environment it writes "ready" to file descriptor N and
closes it (s6-style readiness notification). `--version` is answered without importing anything
else; `--help` and usage errors without the Kubernetes or DNS client; each command imports only
what it uses.

Once the command has run, the process ends at once (`os._exit`, after flushing stdout and stderr)
instead of tearing the interpreter down: freeing every module and object (the Kubernetes client's
thousand model classes among them) took about 0.3 s of CPU after the output was written, 3 s of
wall time on a busy machine, and delayed `wait`'s return by as much. Nothing of ours runs at exit.

The commands, their options and `run` are in `commands.py`; kubectl's completion protocol in
`completing.py`; Go durations (`--timeout 1m30s`) in `durations.py`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspector.settings import Settings

READY_FD_ENV = "INSPECTOR_READY_FD"
INTERRUPTED = 130  # ExitStatus.INTERRUPTED, without importing anything at this point


def _interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: one line and 130, whatever the run was doing (importing, waiting on a socket, printing)."""
    os.write(2, b"interrupted\n")
    os._exit(INTERRUPTED)


def _notify_ready() -> None:
    text = os.environ.get(READY_FD_ENV)
    if text is None:
        return
    try:
        fd = int(text)
        os.write(fd, b"ready\n")
        os.close(fd)
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"error: invalid {READY_FD_ENV} {text!r}: {exc.__class__.__name__}\n")
        sys.exit(2)


def main() -> None:
    signal.signal(signal.SIGINT, _interrupted)
    _notify_ready()
    if sys.argv[1:] == ["--version"]:
        from inspector import __version__

        sys.stdout.write(f"kubectl svc-inspect {__version__}\n")
        return
    from inspector.cli.running import run  # typer and the commands, once Ctrl-C is handled

    status = run()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone (broken pipe): nothing to lose
            stream.flush()
    os._exit(status)


def run(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """The main program without the process-wide handler (as tests call it); `settings` are read from
    the environment unless given."""
    from inspector.cli.running import run as run_commands

    return run_commands(argv, settings)


__all__ = ["main", "run"]
