"""The session engine without Redis: Django's database sessions, with the row read on every
request by one statement built once (``SESSION_ENGINE`` in settings; with Redis the cached
engine reads the cache first and the database only on a miss).

Reading the session row through the ORM cost 0.81 ms of the app's CPU per request on the 50k
bench database (2026-12-06), building the query taking four times as long as running it; the
same SELECT through a cursor costs 0.17 ms. It reads what Django's ``load`` reads: the row of this
key that has not expired, else no session (and the key is dropped, as Django does).
"""

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from hotline.lib import compiled


class SessionStore(db.SessionStore):
    def load(self):
        alias = router.db_for_read(self.model) or "default"
        connection = connections[alias]
        sql = _select_data(connection, self.model)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with compiled.cursor(connection) as cursor:  # prepared once per connection on PostgreSQL
            cursor.execute(sql, [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        return self.decode(row[0])


_sql: dict[tuple[str, str], str] = {}


def _select_data(connection, model) -> str:
    key = (connection.vendor, model._meta.db_table)
    if key not in _sql:
        qn = connection.ops.quote_name
        _sql[key] = (f"SELECT {qn('session_data')} FROM {qn(model._meta.db_table)} "
                     f"WHERE {qn('session_key')} = %s AND {qn('expire_date')} > %s")
    return _sql[key]
