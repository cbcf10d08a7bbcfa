"""Planner hints for the few statements whose plan PostgreSQL gets wrong at scale: the month's
joins, whose cost must follow the month and not the history, and text searches, whose matches
no estimate of a phrase's frequency can count."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections, transaction

# The work_mem of ``hashed_subplans=False``: below any subquery's hash table, above nothing a
# LIMITed index scan needs.
NO_HASH_WORK_MEM = "64kB"


@contextmanager
def planner_without(using: str, *methods: str, parallel: bool = True, hashed_subplans: bool = True):
    """A transaction in which PostgreSQL plans without ``methods`` (``hashjoin``, ``bitmapscan``, …:
    each ``SET LOCAL enable_<method> = off``, which ends with the transaction), and without
    parallel workers unless ``parallel``. Other databases: just the transaction.

    ``hashed_subplans=False``: a correlated ``EXISTS`` that cannot become a join (under an ``OR``)
    is run per row, never by first reading its whole subquery into a hash table. PostgreSQL picks
    the hashed form when it expects many outer rows, without counting a ``LIMIT`` that stops after
    a few, and only when the table fits in ``work_mem``: so ``work_mem`` is set below it. No GUC
    names the choice itself."""
    with transaction.atomic(using=using):
        connection = connections[using]
        if (methods or not parallel or not hashed_subplans) and connection.vendor == "postgresql":
            # One statement for all: set_config(…, true) is SET LOCAL as a function.
            settings = [f"set_config('enable_{method}', 'off', true)" for method in methods]
            if not parallel:
                settings.append("set_config('max_parallel_workers_per_gather', '0', true)")
            if not hashed_subplans:
                settings.append(f"set_config('work_mem', '{NO_HASH_WORK_MEM}', true)")
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {', '.join(settings)}")
        yield


def joins_by_key(using: str = "default", *, parallel: bool = True):
    """A transaction in which PostgreSQL joins by index lookups (nested loops), not by hashing.

    For a join from a month's rows to a table with years of history (orders, callbacks): when the
    month is a large share of the table, the planner prefers hashing the whole other side, a
    cost that grows with the history; looking each row up by key costs the same at any history
    size. ``parallel=False``: see ``hotline.metrics.units.count_units``.
    """
    return planner_without(using, "hashjoin", "mergejoin", parallel=parallel)
