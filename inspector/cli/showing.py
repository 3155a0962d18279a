"""The output plumbing every command shares: the document `-o json|yaml` asks for or the text, the
picture, `-o name`, notes on stderr, `-w`'s lines, and the exit status an answer calls for.

Why it exists: each command says what it found; how that reaches stdout and stderr is the same for
all of them, and written once here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from inspector.cli.options import Common, Fleeted, Output, Scoped
from inspector.errors import BadInput
from inspector.status import ExitStatus

if TYPE_CHECKING:
    from inspector.diagnosis.report import Report
    from inspector.live.fleet import ContextResult
    from inspector.live.planning import Files

T = TypeVar("T")


def emit(text: str) -> None:
    if text:
        typer.echo(text)


def write_document(data: Any, output: Output) -> None:
    from inspector.output.documents import dump, write_json

    if output is Output.json and isinstance(data, dict):  # written as it is made (a lazy document)
        write_json(data, sys.stdout.write)
        sys.stdout.write("\n")
        return
    emit(dump(data, output.value))


def notes(report: Report) -> None:
    from inspector.output.text import notes_text

    if report.notes:
        typer.echo(notes_text(report), err=True)


def told(opts: Common, document: Callable[[], Any], text: Callable[[], str]) -> None:
    """The document `-o json|yaml` asks for, else the text."""
    if opts.as_document:
        write_document(document(), opts.output)
    else:
        emit(text())


def answered(opts: Common, document: Callable[[], Any], text: Callable[[], str], ok: bool) -> int:
    """The answer told, and the exit status it calls for."""
    told(opts, document, text)
    return ExitStatus.OK if ok else ExitStatus.ERROR


def shown(opts: Scoped, report: Report, document: Callable[[], Any], text: Callable[[], str]) -> int:
    """Shows the report as the document or the text `-o` asks for, its notes on stderr; the exit
    status its findings call for."""
    if opts.as_document:
        write_document(document(), opts.output)
    elif opts.output in (Output.dot, Output.svg):
        from inspector.output import pictures

        graph = pictures.dot_graph(report)
        emit(graph if opts.output is Output.dot else pictures.render(graph))
    else:
        emit(text())
    notes(report)
    return opts.status(not report.ok)


def listed(
    opts: Scoped,
    name: str | None,
    watch: bool,
    names: Callable[[Report], str],
    table: Callable[[Report], str],
    document: Callable[[Report], Any],
    files: Files | None = None,
) -> int:
    """A command that lists what the report says of the Services in scope: `-o name` lists their
    names, a table (or detail view) otherwise; `-w` follows it, or it is shown once; with `files`,
    as it will be once they are applied."""

    def text(report: Report) -> str:
        if opts.output is Output.name:
            return names(report)
        return table(report) or none_found(report)

    if watch:
        if files is not None:
            raise BadInput("-w follows the cluster as it changes; it cannot be combined with -f")
        return followed(opts, name, text)
    if files is not None and files.offline:
        report = opts.planned_report(name, files)
    else:
        client, report = opts.report(name, files)
        client.close()
    return shown(opts, report, lambda: document(report), lambda: text(report))


def told_on_stderr(line: str) -> None:
    """What a watcher tells while it runs (the API server away, and back): one line on stderr."""
    typer.echo(line, err=True)


def followed(opts: Scoped, name: str | None, first: Callable[[Report], str]) -> int:
    """-w: the command's own text, then one line per change (endpoints, findings, Services), as
    `kubectl get -w`; only Ctrl-C ends it (one line, 130)."""
    if opts.output not in (Output.table, Output.wide):
        raise BadInput(
            f"-w prints a table, then one line per change: it cannot be combined with -o {opts.output}"
        )
    from inspector.diagnosis.changes import report_changes
    from inspector.live.following import follow
    from inspector.live.inspecting import make_scope
    from inspector.output.text import change_line

    scope = make_scope(opts.namespace, opts.all_namespaces, name, opts.selector)
    seconds = opts.settings.watch_seconds()
    with opts.connect() as client:
        reports = follow(client, scope, watch_seconds=seconds, notify=told_on_stderr)
        try:
            before = next(reports)
            typer.echo(first(before))
            notes(before)
            for report in reports:
                for change in report_changes(before, report):
                    typer.echo(change_line(change))
                before = report
        finally:
            reports.close()  # stops the watches, joins their threads
    return ExitStatus.OK


def none_found(report: Report) -> str:
    ns = report.snapshot.namespaces
    where = "any namespace" if ns is None else f"namespace {', '.join(ns)}"
    return f"No Services found in {where}."


def fleet_shown(
    opts: Fleeted,
    results: Sequence[ContextResult[T]],
    document: Callable[[T], dict[str, Any]],
    summary: Callable[[T], Mapping[str, int]],
    text: Callable[[], str],
    failed: Callable[[T], bool],
    report: Callable[[T], Report],
) -> int:
    """Several contexts' answers: the fleet's document or text on stdout; on stderr one line per
    context that failed, naming it, and each context's notes. The exit status is the highest of the
    contexts' own (a context that cannot be reached: 3, whatever the others found)."""
    from inspector.output.fleetviews import fleet_json

    if opts.as_document:
        write_document(fleet_json(results, document, summary), opts.output)
    else:
        emit(text())
    statuses = []
    for r in results:
        if r.error is not None:
            typer.echo(f'error: context "{r.context}": {r.error}', err=True)
            statuses.append(int(r.error.exit_status))
        elif r.value is not None:
            for note in report(r.value).notes:
                typer.echo(f'note: context "{r.context}": {note}', err=True)
            statuses.append(opts.status(failed(r.value)))
    return max(statuses, default=ExitStatus.OK)
