"""Objects a process builds while starting are frozen out of the garbage collector's walks."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.gc_freeze import freeze_long_lived_objects


@pytest.fixture
def unfrozen_afterwards() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen_afterwards")
def test_the_objects_alive_at_startup_are_left_out_of_collections() -> None:
    class Started:
        pass

    started = [Started() for _ in range(1000)]
    freeze_long_lived_objects()
    assert gc.get_freeze_count() >= len(started)
    assert not any(isinstance(each, Started) for each in gc.get_objects())


@pytest.mark.usefixtures("unfrozen_afterwards")
def test_garbage_left_by_starting_is_collected_not_frozen() -> None:
    class Cycle:
        other: Cycle

    first, second = Cycle(), Cycle()
    first.other, second.other = second, first
    del first, second
    freeze_long_lived_objects()
    gc.unfreeze()
    assert not any(isinstance(each, Cycle) for each in gc.get_objects())


@pytest.mark.usefixtures("unfrozen_afterwards")
def test_freezing_again_collects_what_was_frozen_and_dropped_since() -> None:
    """A rebuilt index replaces one frozen before: its cycles must not stay frozen forever."""

    class Cycle:
        other: Cycle

    first, second = Cycle(), Cycle()
    first.other, second.other = second, first
    freeze_long_lived_objects()
    del first, second
    freeze_long_lived_objects()
    gc.unfreeze()
    assert not any(isinstance(each, Cycle) for each in gc.get_objects())
