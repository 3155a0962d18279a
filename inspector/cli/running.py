"""Running a command line: the one place failures become exit statuses (as httpie's `core.raw_main`).

Why it exists: the commands (`inspector.cli.commands`) are the main program without error handling;
here every way a run can end (typer's usage errors, our own `InspectorError`s, Ctrl-C, a closed pipe,
a bug of ours) becomes one line on stderr and a status of `ExitStatus`, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from inspector import collector
from inspector.cli.commands import app
from inspector.cli.options import PROG
from inspector.errors import InspectorError
from inspector.settings import Settings
from inspector.status import ExitStatus

EXECUTABLE = "kubectl-svc_inspect"


def _prog_name(argv: list[str] | None, settings: Settings) -> str:
    """`kubectl svc-inspect` in help and errors; the executable's own name where a shell completes it
    (the completion scripts name the program they complete)."""
    args = sys.argv[1:] if argv is None else argv
    completing_itself = settings.shell_completion or {"--show-completion", "--install-completion"} & {
        a.partition("=")[0] for a in args
    }
    return EXECUTABLE if completing_itself else PROG


def kubectl_verbosity(argv: list[str] | None) -> list[str]:
    """kubectl's `-v=N` (and `--v=N`) as N times `-v`: 1 logs our progress, 2 and more every request.
    A level that is not a number is left for the parser to refuse."""
    args = sys.argv[1:] if argv is None else argv
    out: list[str] = []
    for arg in args:
        if arg == "--":
            return out + args[len(out) :]
        head, eq, level = arg.partition("=")
        if head in ("-v", "--v") and eq and level.isdigit():
            out += ["-v"] * min(int(level), 10)
        else:
            out.append(arg)
    return out


def run(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """The main program; failures become exit statuses here and nowhere else. The settings are read
    from the environment here, once, unless given, and reach the commands as typer's `obj`."""
    settings = Settings.from_environment() if settings is None else settings
    try:
        with collector.paused():  # taken back by a command that follows changes (serve, -w, wait)
            result = app(
                args=kubectl_verbosity(argv),
                standalone_mode=False,
                prog_name=_prog_name(argv, settings),
                obj=settings,
            )
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        typer.echo("interrupted", err=True)
        return ExitStatus.INTERRUPTED
    except typer.TyperException as exc:  # typer's (vendored click) usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            return ExitStatus.USAGE
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"error: {' '.join(message.split())}{hint}", err=True)
        return ExitStatus.USAGE
    except InspectorError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_status
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        return ExitStatus.OK
    except Exception as exc:  # a bug of ours: still one line, unless asked for the traceback
        if settings.debug:
            raise
        typer.echo(
            f"internal error, please report it (INSPECTOR_DEBUG=1 shows the traceback): "
            f"{exc.__class__.__name__}: {exc}",
            err=True,
        )
        return ExitStatus.ERROR
    if result == ExitStatus.INTERRUPTED:  # typer turns Ctrl-C into a returned 130, silently
        typer.echo("interrupted", err=True)
    return int(result) if isinstance(result, int) else ExitStatus.OK
