"""The center's clock (hotline.lib.clock) on the path production takes: no ``at=``, the real clock
frozen with time-machine at local evening, early-morning and last-second times.

Instants are stored in UTC; Asia/Shanghai is UTC+8, so 07:30 local is 23:30 UTC the day before and
22:25 local is 14:25 UTC the same day. Every test here would fail if a day, a month or a deadline
were taken from the UTC instant instead of the center's wall clock.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from hotline.lib import clock
from hotline.lib.workcalendar import HOURS, WORKING_DAYS, WorkCalendar, compute_deadline
from hotline.workorders import actions, queries, sla, tasks
from hotline.workorders.models import Reminder, WorkOrder

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def frozen(*args):
    """The real clock stopped at a local Shanghai time."""
    return time_machine.travel(local(*args), tick=False)


# ---------------------------------------------------------------------------------------------
# The clock itself (pure)


def test_now_and_today_are_the_centers_wall_clock():
    with frozen(2023, 10, 7, 7, 30):
        assert clock.now() == local(2023, 10, 7, 7, 30)
        assert clock.now().utcoffset() == dt.timedelta(hours=8)
        assert clock.today() == dt.date(2023, 10, 7)  # UTC is still 10-06
    with frozen(2023, 7, 31, 23, 59, 59):
        assert clock.today() == dt.date(2023, 7, 31)
        assert clock.month_of(clock.now()) == (2023, 7)


def test_days_and_months_of_instants_in_any_time_zone():
    early = dt.datetime(2023, 7, 31, 16, 0, tzinfo=UTC)  # 2023-08-01 00:00 local
    assert clock.local_date(early) == dt.date(2023, 8, 1)
    assert clock.month_of(early) == (2023, 8)
    assert clock.month_of(early - dt.timedelta(seconds=1)) == (2023, 7)
    lo, hi = clock.month_bounds(2023, 7)
    assert lo == dt.datetime(2023, 6, 30, 16, 0, tzinfo=UTC)
    assert hi == early
    assert clock.month_bounds(2023, 12)[1] == local(2024, 1, 1)
    assert clock.day_bounds(dt.date(2023, 10, 7)) == (local(2023, 10, 7), local(2023, 10, 8))
    assert clock.end_of_day(dt.date(2026, 12, 11)) == local(2026, 12, 11, 23, 59, 59)


def test_naive_input_means_local_time_and_naive_instants_are_refused():
    assert clock.aware(dt.datetime(2023, 7, 1, 0, 30)) == local(2023, 7, 1, 0, 30)
    assert clock.aware(dt.datetime(2023, 7, 1, 0, 30, tzinfo=UTC)) == local(2023, 7, 1, 8, 30)
    with pytest.raises(ValueError):
        clock.local(dt.datetime(2023, 7, 1))


def test_the_centers_zone_follows_settings(settings):
    settings.TIME_ZONE = "Asia/Urumqi"  # UTC+6
    with time_machine.travel(dt.datetime(2023, 7, 31, 17, 30, tzinfo=UTC), tick=False):
        assert clock.today() == dt.date(2023, 7, 31)
        assert clock.now().utcoffset() == dt.timedelta(hours=6)
        assert compute_deadline(WorkCalendar(), clock.now(), 1, WORKING_DAYS).at == dt.datetime(
            2023, 8, 1, 23, 59, 59, tzinfo=ZoneInfo("Asia/Urumqi"))


# ---------------------------------------------------------------------------------------------
# Deadlines: the root (compute_deadline) whatever zone the caller passes


@pytest.mark.parametrize("start", [
    local(2023, 10, 7, 7, 30),
    local(2023, 10, 7, 7, 30).astimezone(UTC),  # 2023-10-06 23:30 UTC: a holiday in UTC's reading
    local(2023, 10, 7, 7, 30).astimezone(ZoneInfo("America/New_York")),
])
def test_working_days_count_from_the_local_day_and_end_at_local_midnight(start):
    # 2023-10-07 (Sat) and 10-08 (Sun) were adjusted workdays after 中秋/国庆.
    deadline = compute_deadline(WorkCalendar(), start, 1, WORKING_DAYS).at
    assert deadline == local(2023, 10, 8, 23, 59, 59)
    assert deadline.utcoffset() == dt.timedelta(hours=8)


def test_hours_are_calendar_hours_on_the_local_clock():
    start = local(2023, 9, 28, 22, 25).astimezone(UTC)
    deadline = compute_deadline(WorkCalendar(), start, 24, HOURS).at
    assert deadline == local(2023, 9, 29, 22, 25) and deadline.tzinfo == SHANGHAI


# ---------------------------------------------------------------------------------------------
# Registration with no ``at=``: the order's deadlines and number


@pytest.mark.parametrize(("moment", "sign_day", "handle_day", "period"), [
    # The day before 中秋/国庆 (09-29 to 10-06 off, 10-07 and 10-08 worked), late evening.
    ((2023, 9, 28, 22, 25), (2023, 10, 7), (2023, 10, 11), "2309"),
    # An adjusted working Saturday at 07:30 — still 10-06, a holiday, in UTC.
    ((2023, 10, 7, 7, 30), (2023, 10, 8), (2023, 10, 12), "2310"),
    # A Friday night, the last second of a month.
    # (2023-04-05, 清明, is off.)
    ((2023, 3, 31, 23, 59, 59), (2023, 4, 3), (2023, 4, 10), "2303"),
    # The first minute of a month (2023-07-31 16:00 UTC, a Monday in UTC's reading).
    ((2023, 8, 1, 0, 0), (2023, 8, 2), (2023, 8, 8), "2308"),
    ((2023, 7, 1, 0, 0), (2023, 7, 3), (2023, 7, 7), "2307"),
])
def test_registered_now_counts_from_the_local_day(new_order, settings, moment, sign_day, handle_day, period):
    from hotline.catalog.models import SlaPolicy

    # A sign-for limit of one working day makes the sign deadline show the next working day.
    SlaPolicy.objects.update(sign_limit=1, sign_limit_unit=WORKING_DAYS)
    sla._invalidate()
    with frozen(*moment):
        order = new_order(at=None)
    assert order.received_at == local(*moment)
    assert order.sign_deadline == local(*sign_day, 23, 59, 59)
    limit = sla.limits_for(order.appeal_type_id, order.urgency, order.source)["handle"]
    assert limit == (5, WORKING_DAYS)
    assert order.handle_deadline == local(*handle_day, 23, 59, 59)
    assert order.number.startswith(f"{settings.HOTLINE['NUMBER_PREFIX']}{period}-")


# ---------------------------------------------------------------------------------------------
# The console, the way an operator uses it


@pytest.fixture
def as_user(client, people):
    def login(username):
        client.force_login(people[username])
        return client
    return login


def test_console_registration_on_a_friday_night(as_user, unit):
    from tests.test_console_views import intake_data

    c = as_user("operator_li")
    with frozen(2026, 12, 4, 22, 25):  # Friday
        r = c.post(reverse("intake"), intake_data(unit, title="周五夜间来电"))
    assert r.status_code == 302
    order = WorkOrder.objects.get(title="周五夜间来电")
    calendar = sla.work_calendar()
    due = calendar.nth_workday_after(dt.date(2026, 12, 4), 5)
    assert due == dt.date(2026, 12, 11)  # the Friday after: Saturday and Sunday do not count
    assert order.handle_deadline == local(2026, 12, 11, 23, 59, 59)
    assert order.received_at == local(2026, 12, 4, 22, 25)
    with frozen(2026, 12, 4, 22, 26):
        page = c.get(reverse("order_detail", args=[order.number])).content.decode()
    assert "2026-12-11 23:59" in page
    assert "2026-12-12 07:59" not in page
    assert "2026-12-04 22:25" in page


def test_supervision_notice_shows_local_time(new_order, people, unit, as_user):
    order = new_order(at=local(2026, 12, 3, 10, 0))
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=local(2026, 12, 3, 10, 1))
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                     at=local(2026, 12, 3, 10, 2))
    with frozen(2026, 12, 4, 22, 25):
        actions.supervise(order, acting_user=people["supervisor_zhou"], notice="请抓紧办理")
    reminder = Reminder.objects.get(order=order, kind=Reminder.Kind.SUPERVISION)
    assert reminder.respond_by == local(2026, 12, 8, 23, 59, 59)  # two working days after Friday
    page = as_user("supervisor_zhou").get(reverse("order_detail", args=[order.number])).content.decode()
    assert "限 12-08 23:59 前反馈" in page


# ---------------------------------------------------------------------------------------------
# Sweeps at local midnight


@pytest.fixture
def due_tonight(new_order, people, unit):
    """An order dispatched to 杨楼镇 whose deadline is 2023-07-10 23:59:59 local (Monday)."""
    order = new_order(at=local(2023, 7, 3, 9, 0))
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=local(2023, 7, 3, 9, 1))
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                     at=local(2023, 7, 3, 9, 2))
    order.refresh_from_db()
    assert order.handle_deadline == local(2023, 7, 10, 23, 59, 59)
    return order


def test_sweep_at_local_midnight(due_tonight, settings):
    settings.HOTLINE = {**settings.HOTLINE, "NEAR_DUE_HOURS": 24}
    with frozen(2023, 7, 9, 23, 59, 59):  # 24 h and 1 s left: not yet near due
        assert tasks.run_sweep() == {"at": "2023-07-09T23:59:59+08:00", "overdue": 0, "near_due": 0,
                                     "auto_remind": 0, "supervision_failed": 0}
    with frozen(2023, 7, 10, 0, 0):  # the last local day begins: near due
        assert tasks.run_sweep()["near_due"] == 1
    with frozen(2023, 7, 10, 7, 30):  # still 07-09 in UTC
        assert tasks.run_sweep() == {"at": "2023-07-10T07:30:00+08:00", "overdue": 0, "near_due": 0,
                                     "auto_remind": 0, "supervision_failed": 0}
    with frozen(2023, 7, 10, 23, 59, 59):
        assert tasks.run_sweep()["overdue"] == 0
    with frozen(2023, 7, 11, 0, 0, 0):
        assert tasks.run_sweep()["overdue"] == 1
    assert queries.overdue_stamp(due_tonight) == local(2023, 7, 11)


# ---------------------------------------------------------------------------------------------
# Every other path that decides a day, a month or "today"


@pytest.fixture
def month_edges(new_order):
    """Orders registered (no ``at=``) in the last and first seconds around July 2023, local time."""
    moments = [(2023, 6, 30, 23, 59, 59), (2023, 7, 1, 0, 0), (2023, 7, 31, 23, 59, 59), (2023, 8, 1, 0, 0)]
    orders = []
    for m in moments:
        with frozen(*m):
            orders.append(new_order(at=None, title=f"边界 {m[1]:02d}-{m[2]:02d} {m[3]:02d}:{m[4]:02d}"))
    assert [o.number.split("-")[0][-4:] for o in orders] == ["2306", "2307", "2307", "2308"]
    return orders


def test_statistics_attribute_month_edges_to_the_local_month(month_edges):
    from hotline.analytics.stats import period_statistics
    from hotline.assessment.figures import month_range
    from hotline.briefing.charts import daily_counts

    july = period_statistics(dt.date(2023, 7, 1), dt.date(2023, 7, 31), as_of=local(2023, 9, 1))
    assert july.grand_total == 2
    august = period_statistics(dt.date(2023, 8, 1), dt.date(2023, 8, 31), as_of=local(2023, 9, 1))
    assert august.grand_total == 1
    daily = dict(daily_counts(2023, 7))
    assert daily[dt.date(2023, 7, 1)] == 1 and daily[dt.date(2023, 7, 31)] == 1
    assert month_range(2023, 7) == clock.month_bounds(2023, 7)


def test_statistics_page_defaults_to_last_local_month(as_user, month_edges):
    with frozen(2023, 8, 1, 7, 30):  # 2023-07-31 in UTC: "last month" would be June
        r = as_user("supervisor_zhou").get(reverse("briefing:stats"))
    stats = r.context["stats"]
    assert (stats.start, stats.end, stats.grand_total) == (dt.date(2023, 7, 1), dt.date(2023, 7, 31), 2)


def test_a_center_in_another_zone_gets_its_own_months(settings):
    from hotline.analytics.stats import local_bounds
    from hotline.assessment.figures import month_range
    from hotline.lib.parsing import parse_datetime
    from hotline.triage.management.commands.triage import parse_since

    settings.TIME_ZONE = "Asia/Urumqi"
    urumqi = ZoneInfo("Asia/Urumqi")
    # These four were pinned to Asia/Shanghai whatever the settings said.
    assert month_range(2023, 7)[0] == dt.datetime(2023, 7, 1, tzinfo=urumqi)
    assert local_bounds(dt.date(2023, 7, 1), dt.date(2023, 7, 1))[1] == dt.datetime(2023, 7, 2, tzinfo=urumqi)
    assert parse_datetime("2023/7/3 8:55", "登记时间") == dt.datetime(2023, 7, 3, 8, 55, tzinfo=urumqi)
    assert parse_datetime(dt.date(2023, 7, 7), "办理时限", end_of_day=True) == \
        dt.datetime(2023, 7, 7, 23, 59, 59, tzinfo=urumqi)
    assert parse_since("2023-01-01") == dt.datetime(2023, 1, 1, tzinfo=urumqi)


def test_imported_naive_times_are_local():
    from hotline.lib.parsing import parse_datetime

    assert parse_datetime("2023-07-01 00:30", "登记时间") == local(2023, 7, 1, 0, 30)
    assert parse_datetime("2023年7月1日", "登记时间") == local(2023, 7, 1)
    assert parse_datetime("2023-07-01T00:30:00Z", "登记时间") == local(2023, 7, 1, 8, 30)


def test_demo_times_fall_in_the_local_month():
    import random

    from hotline.demo.generate import _received_times

    lo, hi = clock.month_bounds(2023, 7)
    times = _received_times(random.Random(5), 2023, 7, 300)
    assert all(lo <= t < hi and t.utcoffset() == dt.timedelta(hours=8) for t in times)
    assert any(t.hour < 8 for t in times)  # early-morning orders, the ones UTC would misplace


def test_dashboard_today_and_trend_at_0730_on_the_first(as_user, month_edges):
    c = as_user("supervisor_zhou")
    with frozen(2023, 8, 1, 7, 30):  # still 2023-07-31 in UTC
        r = c.get(reverse("dashboard"))
    assert r.context["day"] == dt.date(2023, 8, 1)
    totals = r.context["totals"]
    assert (totals["today_new"], totals["month_new"]) == (1, 1)
    trend = dict(zip(r.context["trend"]["days"], r.context["trend"]["counts"], strict=True))
    # The database truncates received_at to the center's day (SQLite and PostgreSQL alike): in UTC
    # both orders would fall on 07-31.
    assert r.context["trend"]["days"][0] == "07-03"
    assert (trend["07-31"], trend["08-01"]) == (1, 1)
    assert "2023年8月1日" in r.content.decode()
    with frozen(2023, 8, 1, 7, 30):
        r = c.get(reverse("dashboard"), {"date": "2023-08-01"})  # "today" is allowed
    assert r.context["day"] == dt.date(2023, 8, 1) and not list(r.context["messages"])


def test_search_by_day_uses_local_days(as_user, month_edges):
    c = as_user("supervisor_zhou")
    page = c.get(reverse("order_list"), {"from": "2023-07-01", "to": "2023-07-01"}).content.decode()
    assert "边界 07-01 00:00" in page
    assert "边界 06-30 23:59" not in page and "边界 07-31 23:59" not in page
    for edge in ("9999-12-31", "0001-01-01"):  # no day after / before in UTC: ignored, not a 500
        assert c.get(reverse("order_list"), {"from": edge, "to": edge}).status_code == 200


def test_audit_trail_by_local_day(as_user, people):
    from hotline.accounts.models import AuditLog

    with frozen(2023, 7, 1, 0, 30):
        AuditLog.objects.create(actor=people["operator_li"], action=AuditLog.Action.LOGIN, object_id="early-bird")
    c = as_user("auditor_wu")
    assert "early-bird" in c.get(reverse("audit_log"), {"date": "2023-07-01"}).content.decode()
    assert "early-bird" not in c.get(reverse("audit_log"), {"date": "2023-06-30"}).content.decode()
    for edge in ("9999-12-31", "0001-01-01"):
        r = c.get(reverse("audit_log"), {"date": edge})
        assert r.status_code == 200 and "超出范围（须在 2000–2100 年之间）" in r.content.decode()


def test_home_counts_overdue_from_local_midnight(due_tonight, as_user):
    from django.core.cache import cache

    c = as_user("supervisor_zhou")
    with frozen(2023, 7, 10, 23, 59, 59):
        cache.clear()
        summary = c.get(reverse("home")).context["summary"]
    assert (summary["overdue"], summary["near_due"]) == (0, 1)
    with frozen(2023, 7, 11, 0, 0):
        cache.clear()
        summary = c.get(reverse("home")).context["summary"]
    assert (summary["overdue"], summary["near_due"]) == (1, 0)


def test_json_api_renders_the_centers_offset(client, people):
    from tests.test_intake_api import ROAD

    client.force_login(people["operator_li"])
    with frozen(2026, 12, 4, 22, 25):
        created = client.post("/api/orders/", ROAD, content_type="application/json").json()
    assert created["received_at"] == "2026-12-04T22:25:00+08:00"
    assert created["handle_deadline"] == "2026-12-11T23:59:59+08:00"
    read = client.get(f"/api/orders/{created['number']}/").json()  # read back from the database (UTC)
    assert (read["received_at"], read["handle_deadline"]) == (created["received_at"], created["handle_deadline"])


def test_open311_naive_dates_are_local_and_times_carry_the_offset(client, month_edges):
    def numbers(**params):
        return {r["service_request_id"] for r in client.get("/open311/v2/requests.json", params).json()}

    first = month_edges[1].number
    assert first in numbers(start_date="2023-07-01T00:00:00", end_date="2023-07-01T00:00:00")
    assert first not in numbers(start_date="2023-07-01T00:00:01", end_date="2023-07-02T00:00:00")
    row = client.get("/open311/v2/requests.json", {"service_request_id": first}).json()[0]
    assert row["requested_datetime"] == "2023-07-01T00:00:00+08:00"


def test_briefing_today_is_the_local_day(people):
    from hotline.briefing.actions import BriefingError, _check_month
    from hotline.briefing.build import default_issue_date

    with frozen(2023, 8, 1, 7, 30):  # 2023-07-31 in UTC
        assert default_issue_date(2023, 7) == dt.date(2023, 8, 1)
        _check_month(2023, 8)  # August has begun at the center
    with frozen(2023, 7, 31, 23, 59, 59):
        assert default_issue_date(2023, 7) == dt.date(2023, 8, 1)
        with pytest.raises(BriefingError):
            _check_month(2023, 8)


def test_excel_import_reads_naive_times_as_local(people, tmp_path, capsys):
    from django.core.management import call_command

    from tests.test_import import ORDER_HEADERS, order_row, workbook

    # Registered upstream 20 minutes ago on the center's clock; read as UTC it would be 15:10
    # local, "later than now", and refused.
    path = workbook(tmp_path / "pds.xlsx", ORDER_HEADERS,
                    [order_row("PDS-0730", 登记时间="2023/7/3 7:10", 办理时限="2023-07-12")])
    with frozen(2023, 7, 3, 7, 30):
        call_command("import", "orders", path)
    assert "已导入工单 1 条" in capsys.readouterr().out
    order = WorkOrder.objects.get(upstream_number="PDS-0730")
    assert order.received_at == local(2023, 7, 3, 7, 10)
    assert order.upstream_deadline == local(2023, 7, 12, 23, 59, 59)
