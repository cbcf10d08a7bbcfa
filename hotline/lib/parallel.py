"""Independent reads of one database, side by side.

A month's statistics are a handful of passes that do not depend on each other: the unit figures'
pass over the month's lead assignments, the tables' pass over its orders, the comparison months,
the overdue list, the returns and 督办 of the units. One after the other on one connection, the
server works on one of them at a time, and the Python between them waits too. Each on its own
connection, PostgreSQL runs them at once (on two cores, the month build's statistics took a fifth
less time at a million orders: docs/performance.md, "月度构建").
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections

# Connections opened at once by one call (a nested call opens its own): the passes are a handful,
# and a month build should leave the server's other clients some room.
MAX_THREADS = 3


def can_run_side_by_side(using: str) -> bool:
    """Whether calls on ``using`` may run on connections of their own.

    Not inside a transaction: another connection would not see what it wrote (a test's data, an
    action's rows), nor share its snapshot. Not on SQLite: an in-memory database is per connection,
    and a file has one writer."""
    connection = connections[using]
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def side_by_side(*calls: Callable[[], Any], using: str) -> list[Any]:
    """The results of ``calls``, in their order; each reads database ``using`` and none depends on
    another. Where ``can_run_side_by_side``, the first runs here and each of the others in a thread
    of its own, on a connection of its own closed when the call returns; else one after the other,
    here. Put the longest first: the threads take the calls in order. An exception from a call is
    raised once the others have ended (in turn: at once, and the calls after it do not run)."""
    if len(calls) < 2 or not can_run_side_by_side(using):
        return [call() for call in calls]
    first, *rest = calls
    # The first call runs here, on this thread's connection (already open in a request, and a new
    # one costs a few milliseconds); the others in the pool.
    with ThreadPoolExecutor(max_workers=min(MAX_THREADS - 1, len(rest)), thread_name_prefix="side-by-side") as pool:
        futures = [pool.submit(_on_own_connection, call) for call in rest]
        result = first()  # if it raises, leaving the block still waits for the others
    return [result, *(future.result() for future in futures)]


def _on_own_connection(call: Callable[[], Any]) -> Any:
    # A thread has connections of its own (Django keeps them per thread); they are closed here,
    # not left for a request's end that never comes in a pool thread.
    try:
        return call()
    finally:
        connections.close_all()
