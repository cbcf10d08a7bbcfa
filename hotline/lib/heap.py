"""Python's garbage collector during a long batch job.

CPython's full collection walks every object the process tracks. A task worker holds about
150,000 objects that live as long as it does (modules, models, URL patterns, compiled templates),
and a sweep's catch-up allocates enough rows and tuples to start a full collection now and then:
on the 260k bench database (2026-12-07) one in each catch-up, 95–140 ms in which none of the
sweep's threads runs (the collector holds the interpreter). ``hotline/wsgi.py`` freezes an app
process's startup objects for the same reason; a worker has no such moment of its own, so the
job freezes what exists when it starts and thaws it when it ends: its collections walk only what
the job made, and nothing that was garbage before is kept (it is collected after the thaw).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collect_only_new() -> Iterator[None]:
    """Within the block, the collector leaves alone what the process held when it began. A process
    that froze its objects already (an app process, ``hotline/wsgi.py``) is left as it is: thawing
    would hand its frozen objects back to the collector."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
