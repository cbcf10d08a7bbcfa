"""``hotline.lib.heap.collect_only_new``: a batch job's collections leave the process's older
objects alone, and the process gets them back afterwards; an app process's own freeze is kept."""

import gc
import weakref
from collections import Counter

import pytest

from hotline.lib.heap import collect_only_new
from hotline.workorders import tasks


@pytest.fixture
def thawed():
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    yield
    if frozen:
        gc.freeze()


class _Cycle:
    def __init__(self):
        self.me = self


def test_the_job_walks_only_what_it_made_and_leaves_nothing_frozen(thawed):
    before = _Cycle()  # garbage from before the job: left alone inside it, collected after
    old = weakref.ref(before)
    del before
    with collect_only_new():
        assert gc.get_freeze_count() > 0
        made = _Cycle()
        new = weakref.ref(made)
        del made
        gc.collect()
        assert new() is None and old() is not None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert old() is None


def test_an_app_process_keeps_its_freeze(thawed):
    frozen = _Cycle()  # garbage that an app process froze at startup (wsgi.py) stays frozen
    ref = weakref.ref(frozen)
    del frozen
    gc.freeze()
    with collect_only_new():
        _Cycle()
    gc.collect()
    assert ref() is not None and gc.get_freeze_count() > 0
    gc.unfreeze()
    gc.collect()
    assert ref() is None


def test_the_sweep_runs_with_the_older_objects_frozen(thawed, monkeypatch, db):
    seen = []
    monkeypatch.setattr(tasks._SharedBatches, "work", lambda self: seen.append(gc.get_freeze_count()) or Counter())
    tasks.run_sweep(batch_size=10)
    assert seen and seen[0] > 0 and gc.get_freeze_count() == 0
