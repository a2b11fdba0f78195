"""A serving process's collector settings: start-up objects frozen, young threshold raised."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from certctl.api.heap import GC_THRESHOLDS, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Undo the freeze and the thresholds: the test process goes on collecting as before."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settling_freezes_what_exists_and_raises_the_young_threshold(restored_gc: None) -> None:
    """An object alive at the call leaves the collected generations; one made after it is
    collected as usual; the young generation's threshold is 20,000."""
    built_at_start = ["start-up"]
    settle_heap()
    made_later = ["request"]
    tracked = {id(o) for o in gc.get_objects()}
    assert id(built_at_start) not in tracked
    assert id(made_later) in tracked
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == GC_THRESHOLDS == (20_000, 10, 10)
