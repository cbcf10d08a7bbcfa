"""Database routing: everything on the primary; the replica only when a query asks for it.

Reads that can stand a second of replication lag — analytics, assessment, briefings — say so
explicitly with ``.using(settings.ANALYTICS_DATABASE)`` (``"replica"`` when
``REPLICA_DATABASE_URL`` is set, else ``"default"``). Nothing is routed there implicitly: a
request that writes and then reads its own write must read the primary, and an implicit rule
would get that wrong somewhere. The one thing this router does is keep schema changes off the
replica: a hot standby refuses writes anyway, and ``migrate --database=replica`` should be a
no-op rather than an error half-way through.
"""

READ_ONLY_ALIASES = frozenset({"replica"})


def writable(db: str) -> str:
    """Where a result computed from reads on ``db`` is kept: the reads may go to the replica (a hot
    standby, which refuses writes), the result is written, and read back, on the primary."""
    return "default" if db in READ_ONLY_ALIASES else db


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return None  # the default database unless the query says otherwise

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the same rows as the primary, so objects read from either may relate.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db not in READ_ONLY_ALIASES
