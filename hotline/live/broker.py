"""Publish to a person's open pages, and wait for what is published to them.

Three carriers, chosen by the deployment (``HOTLINE_LIVE_BACKEND``, by default from the settings):

- ``redis`` when ``REDIS_URL`` is set: ``PUBLISH`` on the channel ``hotline_live_u<id>``; each open
  stream holds one subscription (a Redis connection, cheap).
- ``postgres`` on PostgreSQL without Redis: ``pg_notify('hotline_live_u<id>', …)``; each open stream
  holds one ``LISTEN`` connection to the database — count them against ``max_connections``
  (docs/notifications.md), which is why Redis is the carrier of choice when there is one.
- ``poll`` on SQLite: nothing is carried; streams re-read the person's state every
  ``POLL_SECONDS``. It works across the processes of one machine (they share the database file),
  which is all an SQLite installation can be.
- ``off``: no live updates; pages show the bell as it was when they were loaded.

A message is only a nudge ("something changed for you"): the stream then reads the person's state
from the database, so a message lost between two connections costs nothing but its timeliness —
the next connection starts from the state as it is.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import connections, transaction

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "hotline_live_u"
POLL_SECONDS = 2.0
BACKENDS = ("redis", "postgres", "poll", "off")


def backend() -> str:
    chosen = (getattr(settings, "HOTLINE_LIVE_BACKEND", "") or "").strip().lower()
    if chosen:
        if chosen not in BACKENDS:
            raise ValueError(f"HOTLINE_LIVE_BACKEND 应为 {'、'.join(BACKENDS)} 之一，而不是 {chosen!r}")
        return chosen
    if os.environ.get("REDIS_URL"):
        return "redis"
    if connections["default"].vendor == "postgresql":
        return "postgres"
    return "poll"


def channel(user_id: int) -> str:
    return f"{CHANNEL_PREFIX}{int(user_id)}"


def _redis():
    import redis

    return redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


def publish(user_ids: Iterable[int], message: dict | None = None) -> None:
    """Tell these people's open pages that something changed. Call it once the change is committed
    (``publish_on_commit``): a page that reacts at once must find it in the database. A carrier that
    is down costs the live update only — the page catches up at its next connection."""
    ids = sorted({int(u) for u in user_ids})
    if not ids:
        return
    payload = json.dumps(message or {}, ensure_ascii=False)
    kind = backend()
    try:
        if kind == "redis":
            client = _redis()
            try:
                pipe = client.pipeline(transaction=False)
                for uid in ids:
                    pipe.publish(channel(uid), payload)
                pipe.execute()
            finally:
                client.close()
        elif kind == "postgres":
            # One statement for everybody (a sweep's batch tells dozens of people at once); the
            # ids go as an array literal, which psycopg would otherwise dump element by element.
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s || u, %s) FROM unnest(%s::bigint[]) AS u",
                               [CHANNEL_PREFIX, payload, "{" + ",".join(map(str, ids)) + "}"])
    except Exception:  # noqa: BLE001 — a live update must never fail the action that caused it
        log.warning("live update not published (%s)", kind, exc_info=True)


def publish_on_commit(user_ids: Iterable[int], message: dict | None = None) -> None:
    ids = list(user_ids)
    transaction.on_commit(lambda: publish(ids, message))


class _Poll:
    """SQLite: nothing to listen to; every wait is a tick after which the stream re-reads."""

    def __init__(self, user_id: int):
        pass

    def wait(self, timeout: float) -> bool:
        time.sleep(max(0.0, min(timeout, POLL_SECONDS)))
        return True

    def close(self) -> None:
        pass


class _Redis:
    def __init__(self, user_id: int):
        self.client = _redis()
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel(user_id))

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        got = False
        while (left := deadline - time.monotonic()) > 0:
            message = self.pubsub.get_message(timeout=left)
            if message is not None:
                got = True
                # Take whatever else is already waiting, so a burst wakes the stream once.
                while self.pubsub.get_message(timeout=0) is not None:
                    pass
                break
        return got

    def close(self) -> None:
        self.pubsub.close()
        self.client.close()


class _Postgres:
    """A connection of its own, in autocommit, LISTENing on the person's channel (Django's
    connection of the request thread is not kept open for the stream's lifetime)."""

    def __init__(self, user_id: int):
        db = connections["default"]
        self.conn = db.get_new_connection(db.get_connection_params())
        self.conn.autocommit = True
        self.conn.execute(f'LISTEN "{channel(user_id)}"')  # channel() is digits after a fixed prefix

    def wait(self, timeout: float) -> bool:
        got = any(True for _ in self.conn.notifies(timeout=max(0.01, timeout), stop_after=1))
        if got:
            # Drain what came with it: a burst of notifications wakes the stream once.
            for _ in self.conn.notifies(timeout=0.05):
                pass
        return got

    def close(self) -> None:
        self.conn.close()


def subscribe(user_id: int):
    """A subscription to the person's channel: ``wait(timeout)`` returns True when something was
    published to them (always True after a tick on ``poll``); ``close()`` when done."""
    return {"redis": _Redis, "postgres": _Postgres, "poll": _Poll, "off": _Poll}[backend()](user_id)


def enabled() -> bool:
    return backend() != "off"
