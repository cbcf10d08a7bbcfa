"""The month's passes over its orders read the covering indexes alone (PostgreSQL).

A column added to a count (``is_repeat``, ``callback_unreachable`` on 12-04) but not to the
covering indexes silently sends every pass over a month back to the orders' heap rows — wide, with
the appeal's text — at ten times the bytes: nothing fails, the month build only gets slower
(docs/performance.md, "月度构建：覆盖索引补上三列、单位指标分两半"). These tests send the statistics' own statements
to EXPLAIN with the scans that read the table turned off: each pass over the orders must still find
an index-only plan, through the index named, or a column it reads is missing from that index.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hotline.analytics.stats import period_statistics
from hotline.metrics.models import MonthUnitFigures
from tests.test_analytics import FAR_LATER, JULY, build_july

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's covering indexes")]

ORDERS = '"workorders_workorder"'


def _plan(sql: str) -> str:
    # Inside a transaction, so the settings end with it; the table is tiny, so without them any plan
    # would do and the test would say nothing.
    with transaction.atomic(), connection.cursor() as cursor:
        for scan in ("seqscan", "bitmapscan", "hashjoin", "mergejoin"):
            cursor.execute(f"SET LOCAL enable_{scan} = off")
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def _order_scans(plan: str) -> list[str]:
    """Each scan of the orders table in the plan: 'Index Only Scan using name', 'Index Scan using name'…"""
    return re.findall(r"((?:Index Only Scan|Index Scan|Seq Scan|Bitmap Heap Scan)(?: using \w+)?) on workorders_workorder",
                      plan)


def test_the_month_passes_over_orders_are_index_only(people, unit, new_order):
    build_july(people, unit, new_order)
    MonthUnitFigures.objects.all().delete()
    with CaptureQueriesContext(connection) as captured:
        period_statistics(*JULY, as_of=FAR_LATER)
    statements = [q["sql"] for q in captured.captured_queries]

    # The tables' one pass (grouped by type, platform, category, lead unit) and the comparison
    # months' main counts: the orders registered in a period, every center count.
    center = [s for s in statements if s.startswith("SELECT") and f"FROM {ORDERS} WHERE" in s
              and '"is_repeat"' in s and '"callback_unreachable"' in s and "JOIN" not in s]
    assert len(center) == 3  # the month, the month before, the same month last year
    for sql in center:
        assert _order_scans(_plan(sql)) == ["Index Only Scan using wo_month_cover4_idx"], sql

    # The unit figures' pass joins the month's lead assignments to their orders by key.
    [units] = [s for s in statements if s.lstrip().startswith("WITH per_order")]
    scans = _order_scans(_plan(units))
    assert scans and set(scans) == {"Index Only Scan using wo_assess_cover3_idx"}, scans

    # The knowledge base's direct answers of the month are counted in the tables' pass, not in a
    # pass of their own.
    assert len([s for s in statements if '"kb_article_id" IS NOT NULL' in s]) == 1
    assert any('"kb_article_id" IS NOT NULL' in s for s in center)
