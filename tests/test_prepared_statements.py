"""The registration's statements prepared once per connection, and DATABASE_URL's typed options.

The story: operator 李 registers orders from 杨楼镇 through the JSON API, one after another on one
app process. On PostgreSQL the statements every registration runs (the session and user reads, the
order's id, its event, its near-duplicate keys, the month's number, the order's INSERT) go through
``hotline.lib.compiled.cursor``: the server prepares each once and afterwards only binds values.
What must not change is what is written and what Django sees of the queries; what must change is
that the server holds them prepared, and that ``HOTLINE_PREPARED_STATEMENTS=0`` (an old PgBouncer)
turns it off. Runs on SQLite (where the cursor is Django's own) and on PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from hotline.lib import compiled
from hotline.settings import parse_database_url
from hotline.workorders.models import Event, WorkOrder

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="prepared statements are PostgreSQL's")

ROAD = {"title": "村内道路破损", "content": "杨楼镇某村主路破损严重，雨天积水。", "town": "杨楼镇",
        "category": "农村管理—人居环境", "appeal_type": "problem", "caller_phone": "13812341234"}
REGISTRATION = ('SELECT "session_data"', 'SELECT "accounts_user"', "SELECT nextval(",
                'INSERT INTO "workorders_event"', "WITH state AS (INSERT INTO triage_neardupstate",
                'INSERT INTO "workorders_numbersequence"', 'INSERT INTO "workorders_workorder"')


@pytest.fixture
def li(client, people):
    client.force_login(people["operator_li"])
    return client


def post(client):
    response = client.post("/api/orders/", ROAD, content_type="application/json")
    assert response.status_code == 201, response.content
    return WorkOrder.objects.get(pk=response.json()["id"])


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def written(order: WorkOrder) -> tuple[dict, list[dict]]:
    """The order's row and its events, without what differs between two registrations anyway."""
    row = model_to_dict(order, exclude=["id", "number", "received_at", "sign_deadline", "handle_deadline",
                                        "updated_at"])
    events = [model_to_dict(e, exclude=["id", "order", "at"]) for e in Event.objects.filter(order=order)]
    return row, events


@postgres_only
def test_registration_statements_are_prepared_once_per_connection(li):
    post(li)
    before = prepared()
    for start in REGISTRATION:
        assert sum(s.startswith(start) for s in before) == 1, (start, before)
    post(li)
    post(li)
    assert sorted(prepared()) == sorted(before)  # the same statements again, not new ones


@postgres_only
def test_prepared_or_not_the_rows_and_the_queries_seen_are_the_same(li, settings):
    post(li)  # the reference rows and the statements of this connection, once
    with CaptureQueriesContext(connection) as on:
        order_on = post(li)
    settings.HOTLINE = {**settings.HOTLINE, "PREPARED_STATEMENTS": False}
    with CaptureQueriesContext(connection) as off:
        order_off = post(li)
    assert written(order_on) == written(order_off)
    assert order_off.number > order_on.number
    # Django's wrapper logs both: only the placeholders' spelling differs ($1 against the values).
    assert [q["sql"][:30] for q in on.captured_queries] == [q["sql"][:30] for q in off.captured_queries]
    assert sum("$1" in q["sql"] for q in on.captured_queries) == len(REGISTRATION)
    assert not any("$1" in q["sql"] for q in off.captured_queries)


def executions() -> int:
    """How often this connection has run the registration's prepared statements."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return sum(n for statement, n in cursor.fetchall() if statement.startswith(REGISTRATION))


@postgres_only
def test_turned_off_nothing_prepared_is_run(li, settings):
    post(li)
    before = executions()
    post(li)
    assert executions() == before + len(REGISTRATION)
    settings.HOTLINE = {**settings.HOTLINE, "PREPARED_STATEMENTS": False}
    post(li)
    post(li)
    assert executions() == before + len(REGISTRATION)


def test_the_cursor_runs_statements_on_either_database(db):
    with compiled.cursor(connection) as cursor:
        cursor.execute("SELECT %s + 1", [41])
        assert cursor.fetchone()[0] == 42
    with compiled.cursor(connection) as cursor:  # again: prepared on PostgreSQL by now
        cursor.execute("SELECT %s + 1", [1])
        assert cursor.fetchone()[0] == 2


@postgres_only
def test_a_failing_prepared_statement_is_a_database_error_and_the_connection_goes_on(db):
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic(), compiled.cursor(connection) as cursor:
        cursor.execute("SELECT 1 / %s", [0])
    with compiled.cursor(connection) as cursor:
        cursor.execute("SELECT 1 / %s", [1])
        assert cursor.fetchone()[0] == 1


def test_database_url_options_are_typed():
    options = parse_database_url("postgres://u@db/hotline?server_side_binding=true&prepare_threshold=5"
                                 "&sslmode=require")["OPTIONS"]
    assert options == {"server_side_binding": True, "prepare_threshold": 5, "sslmode": "require"}
    assert parse_database_url("postgres://u@db/h?server_side_binding=off&prepare_threshold=none")["OPTIONS"] == {
        "server_side_binding": False, "prepare_threshold": None}
    with pytest.raises(ValueError, match="server_side_binding 须为 true 或 false"):
        parse_database_url("postgres://u@db/h?server_side_binding=maybe")
    with pytest.raises(ValueError, match="prepare_threshold 须为非负整数或 none"):
        parse_database_url("postgres://u@db/h?prepare_threshold=-1")
