"""The cycle collector: paused by the CLI for a command, taken back (with what exists frozen out of
its scans) once a command starts following changes; a library caller's process left alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from inspector import collector


@pytest.fixture(autouse=True)
def collector_as_found() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_cli_pauses_it_for_a_command_and_a_command_that_follows_changes_takes_it_back() -> None:
    gc.enable()
    with collector.paused():
        assert not gc.isenabled()
        built = [[i] for i in range(1000)]  # what the lists made
        frozen_before = gc.get_freeze_count()
        collector.following()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen_before + len(built)
        # a cycle made while following is collected
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    assert gc.isenabled()


def test_following_leaves_a_library_callers_collector_as_it_is() -> None:
    frozen = gc.get_freeze_count()
    gc.disable()
    collector.following()
    assert not gc.isenabled() and gc.get_freeze_count() == frozen
    gc.enable()
    collector.following()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_a_collector_the_caller_had_off_stays_off_after_the_command() -> None:
    gc.disable()
    with collector.paused():
        collector.following()
        assert not gc.isenabled()
    assert not gc.isenabled()
