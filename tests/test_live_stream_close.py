"""A live stream lets go of the database when its browser goes away, not at the end of its life.

赵 opens his inbox; the page's event stream is served by a real HTTP server (pytest-django's live
server, one thread per request, as gunicorn's threaded workers). He closes the tab. Within a few
heartbeats the stream has ended, closed its subscription — on PostgreSQL its LISTEN connection —
and given back its database connection, although its lifetime has a minute left. On PostgreSQL the
database's backends are counted: the stream's are gone, so the test database can be dropped at the
end of the run; on SQLite, where the live server shares the test's in-memory connection with its
request threads, a stream still running after the test would use it from a thread it no longer
belongs to ("DatabaseWrapper objects created in a thread can only be used in that same thread").
"""

import time
import urllib.request

import pytest
from django.db import connection

from hotline.web.views import notifications

PG = connection.vendor == "postgresql"
LIFETIME = 60  # far longer than the test waits: only the browser going away can end the stream
BEAT = 0.5


@pytest.fixture
def zhao_cookie(transactional_db, client, settings):
    from hotline.demo.defaults import load_defaults
    from hotline.demo.people import ensure_people

    settings.HOTLINE_LIVE_BACKEND = ""  # as deployed: LISTEN/NOTIFY on PostgreSQL, polling on SQLite
    settings.HOTLINE_LIVE_STREAM_SECONDS = LIFETIME
    settings.HOTLINE_LIVE_HEARTBEAT_SECONDS = BEAT
    load_defaults()
    people = ensure_people()
    client.force_login(people["handler_zhao"])
    return client.cookies["sessionid"].value


def _open_stream(live_server, cookie):
    """A browser's EventSource, as far as the server can tell: the response, read up to its first
    ``bell`` event and left open. ``close()`` on it closes the connection, as a closed tab does."""
    # The server's first request imports every view (seconds on a busy machine): not the stream's.
    urllib.request.urlopen(f"{live_server.url}/healthz", timeout=60).close()
    request = urllib.request.Request(f"{live_server.url}/live/stream/",
                                     headers={"Cookie": f"sessionid={cookie}", "Accept": "text/event-stream"})
    response = urllib.request.urlopen(request, timeout=30)
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    received = b""
    while b"event: bell" not in received:
        line = response.readline()
        assert line, received
        received += line
    return response


def _wait(condition, seconds: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "timed out"
        time.sleep(0.05)
    return time.monotonic() - started


def _backends() -> list[tuple[int, str]]:
    """This database's other backends (pid, query): the live server's and the stream's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return cursor.fetchall()


def _listening() -> list:
    return [row for row in _backends() if row[1].startswith("LISTEN")]


def test_a_stream_ends_and_closes_its_connections_when_the_browser_goes(live_server, zhao_cookie):
    before = notifications.open_streams()
    stream = _open_stream(live_server, zhao_cookie)
    _wait(lambda: notifications.open_streams() == before + 1, 5)
    if PG:
        _wait(lambda: len(_listening()) == 1, 5)  # the stream's own LISTEN connection
        # Between wake-ups the stream holds no Django connection: only its LISTEN one is open.
        time.sleep(3 * BEAT)
        assert [q for _, q in _backends()] == [q for _, q in _listening()]
    stream.close()  # the tab closes
    took = _wait(lambda: notifications.open_streams() == before, 3 * BEAT + 3)
    assert took < LIFETIME / 4
    if PG:
        _wait(lambda: not _backends(), 3)
        assert _backends() == []


def test_a_stream_that_reaches_its_lifetime_ends_the_same_way(live_server, zhao_cookie, settings):
    settings.HOTLINE_LIVE_STREAM_SECONDS = 1.5
    before = notifications.open_streams()
    stream = _open_stream(live_server, zhao_cookie)
    received = stream.read()  # to the end: the server ended the stream
    stream.close()
    assert b":\n\n" in received  # heartbeats while nothing happened
    _wait(lambda: notifications.open_streams() == before, 3)
    if PG:
        _wait(lambda: not _backends(), 3)
