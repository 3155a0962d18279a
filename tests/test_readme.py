"""The README is checked against the code: its findings table against the catalogue, its headings
against the commands `--help` lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inspector.cli import run
from inspector.cli.commands import app
from inspector.model.findings import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"
TABLE_BEGIN = "<!-- findings-table:begin -->"
TABLE_END = "<!-- findings-table:end -->"


def visible_commands() -> list[str]:
    """The commands `kubectl svc-inspect --help` lists: every registered one but the hidden aliases."""
    return [
        info.name or info.callback.__name__.replace("_", "-")
        for info in app.registered_commands
        if not info.hidden and info.callback is not None
    ]


def test_readme_findings_table_is_exactly_the_catalogue_table() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(TABLE_BEGIN) == 1
    assert text.count(TABLE_END) == 1
    between = text[text.index(TABLE_BEGIN) + len(TABLE_BEGIN) : text.index(TABLE_END)]
    assert between == f"\n{markdown_table()}\n"


def test_help_lists_every_visible_command_and_no_hidden_alias(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    listed = re.findall(r"^  (\S+)  ", capsys.readouterr().out.split("Commands:")[1], re.MULTILINE)
    assert listed == visible_commands()


@pytest.mark.parametrize("command", visible_commands())
def test_every_command_has_a_readme_heading(command: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert re.search(rf"^### `{re.escape(command)}[ `]", text, re.MULTILINE), (
        f"README.md has no '### `{command} ...`' heading"
    )


def test_readme_offline_findings_list_is_exactly_the_catalogues() -> None:
    from inspector.model.findings import offline_list

    text = README.read_text(encoding="utf-8")
    begin, end = "<!-- offline-findings:begin -->", "<!-- offline-findings:end -->"
    assert text.count(begin) == 1 and text.count(end) == 1
    assert text[text.index(begin) + len(begin) : text.index(end)] == f"\n{offline_list()}\n"
