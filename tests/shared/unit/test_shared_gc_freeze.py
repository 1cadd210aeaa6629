"""Objects a process keeps for life are frozen out of the garbage collector's walks; garbage
is collected, not frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared import gc_freeze
from shared.gc_freeze import freeze_long_lived_objects, refreeze_long_lived_objects


class Cycle:
    other: Cycle


class Started:
    pass


@pytest.fixture(autouse=True)
def unfrozen_afterwards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test process goes back to the collector's defaults."""
    monkeypatch.setattr(gc_freeze, "_freezing", False)
    yield
    gc.unfreeze()


def test_the_objects_alive_when_frozen_are_left_out_of_collections() -> None:
    started = [Started() for _ in range(1000)]
    freeze_long_lived_objects()
    assert gc.get_freeze_count() >= len(started)
    assert not any(isinstance(each, Started) for each in gc.get_objects())


@pytest.mark.parametrize(
    "frozen_while_alive",
    [False, True],
    ids=["garbage left by starting", "dropped after an earlier freeze (a rebuilt index)"],
)
def test_reference_cycles_no_longer_used_are_collected_not_frozen(
    frozen_while_alive: bool,
) -> None:
    first, second = Cycle(), Cycle()
    first.other, second.other = second, first
    if frozen_while_alive:
        freeze_long_lived_objects()
    del first, second
    freeze_long_lived_objects()
    gc.unfreeze()
    assert not any(isinstance(each, Cycle) for each in gc.get_objects())


def test_refreezing_waits_for_the_process_to_have_frozen_at_startup() -> None:
    built = [Started() for _ in range(10)]
    refreeze_long_lived_objects()
    assert gc.get_freeze_count() == 0, "a process that never froze is left alone"

    freeze_long_lived_objects()
    built_later = [Started() for _ in range(10)]
    refreeze_long_lived_objects()
    assert not any(isinstance(each, Started) for each in gc.get_objects())
    assert len(built + built_later) == 20
