"""Shared fixtures: Ruzhou's default configuration and the named demo people."""

import datetime as dt
import os
import secrets
import urllib.parse
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROAD_CATEGORY = "0401"  # 农村管理—人居环境, the default orders' category


def throwaway_postgres(prefix: str) -> tuple[str, Callable[[], None]]:
    """A new database on the suite's PostgreSQL server (``DATABASE_URL``), for app processes a test
    starts: they must see committed rows, and the suite's test database lives inside its
    transactions. Returns its URL and the call that drops it."""
    import psycopg

    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin_dsn = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin_dsn, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_dsn, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url._replace(path=f"/{name}").geturl(), drop


def at(*args) -> dt.datetime:
    """An aware Asia/Shanghai datetime: at(2023, 7, 3, 9, 30)."""
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def ruzhou(db):
    """Units, groups, catalog, SLA policies and knowledge base of Ruzhou."""
    from hotline.demo.defaults import load_defaults

    load_defaults()


@pytest.fixture
def people(ruzhou):
    """operator_li, dispatcher_wang, handler_zhao (杨楼镇), handler_qian (寄料镇), handler_sun (住建局),
    supervisor_zhou, auditor_wu, admin — as a dict by username."""
    from hotline.demo.people import ensure_people

    return ensure_people()


@pytest.fixture
def unit(ruzhou):
    """Look a unit up by short name: unit("杨楼镇")."""
    from hotline.directory.models import Unit

    return lambda short_name: Unit.objects.get(short_name=short_name)


@pytest.fixture
def new_order(people, unit):
    """Register an order as operator 李 (defaults: a 问题处理类 order in 杨楼镇 on Mon 2023-07-03 09:00)."""
    from hotline.catalog.models import AppealType, Category
    from hotline.workorders import actions

    def make(**overrides):
        fields = {
            "acting_user": people["operator_li"],
            "at": at(2023, 7, 3, 9, 0),
            "title": "村内道路破损坑洼",
            "content": "来电人反映：杨楼镇某村主路破损严重，雨天积水，希望尽快维修。",
            "appeal_type": AppealType.objects.get(code="problem"),
            "town": unit("杨楼镇"),
            "caller_name": "张三丰",
            "caller_phone": "13812341234",
        }
        fields.update(overrides)
        if "category" not in fields:  # looked up only when needed: a test may have renamed it
            fields["category"] = Category.objects.get(code=ROAD_CATEGORY)
        return actions.register_order(**fields)

    return make


@pytest.fixture(autouse=True)
def _no_live_updates_unless_asked(settings):
    """Pages open no live-update stream in tests, except where a test turns it back on (the live
    tests: test_notification_centre, test_live_browser, test_live_cluster). pytest-django's live
    server shares the test's in-memory SQLite between threads, and a page's stream polling it in
    the background collides with the test's own writes ("database table is locked")."""
    settings.HOTLINE_LIVE_BACKEND = "off"


_thread_owners: dict[int, str] = {}


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    """Remember which test started each thread that is not a daemon (named if one outlives the run)."""
    import threading

    for thread in threading.enumerate():
        if not thread.daemon and thread is not threading.main_thread() and thread.ident not in _thread_owners:
            _thread_owners[thread.ident] = item.nodeid


def pytest_unconfigure(config):
    """A suite that has printed its result must also end. Whatever would keep the interpreter
    alive (a thread that is not a daemon, an atexit hook waiting on a child) is named here, and
    after a grace period its stacks are printed and the run ends with exit status 3, so a hang
    fails CI with its cause instead of running out CI's time."""
    import faulthandler
    import os
    import sys
    import threading

    lingering = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for thread in lingering:
        sys.stderr.write(f"thread still running after the tests: {thread.name}, "
                         f"left by {_thread_owners.get(thread.ident, 'a test before the first was tracked')}\n")

    def end_a_hang():
        sys.stderr.write("the test process has not ended 120 s after its last test; its threads:\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(3)

    guard = threading.Timer(120, end_a_hang)
    guard.daemon = True
    guard.start()
