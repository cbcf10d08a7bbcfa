"""Planner hints for the few statements whose cost must follow the month, not the history."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections, transaction


@contextmanager
def joins_by_key(using: str = "default"):
    """A transaction in which PostgreSQL joins by index lookups (nested loops), not by hashing.

    For a join from a month's rows to a table with years of history (orders, callbacks): when the
    month is a large share of the table, the planner prefers hashing the whole other side, a
    cost that grows with the history; looking each row up by key costs the same at any history
    size. ``SET LOCAL`` ends with the transaction. Other databases: just the transaction.
    """
    with transaction.atomic(using=using):
        connection = connections[using]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_hashjoin = off")
                cursor.execute("SET LOCAL enable_mergejoin = off")
        yield
