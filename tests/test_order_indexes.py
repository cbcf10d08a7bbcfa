"""The orders table's indexes after the diet (migration 0029), and the reads that lean on them.

Every index on ``workorders_workorder`` takes an entry on each insert and on each update that is
not HOT (the SLA sweep's overdue stamp, the automatic 催办's count): the mostly-NULL foreign keys
are indexed only where set, and the two unit indexes whose reads ``wo_open_summary_idx`` serves
are gone (docs/performance.md, "工单表的索引瘦身"). The story: 李 registers an upstream order
and a direct answer from the knowledge base; then the center deletes a platform nobody used, an
order and an article, which is when Django looks up every order that points at them (PROTECT,
SET_NULL) — each of those look-ups, and the upstream number's duplicate check, must still find
an index on PostgreSQL, the statements as Django sends them.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.models.deletion import Collector
from django.test.utils import CaptureQueriesContext

from hotline.catalog.models import KnowledgeArticle
from hotline.directory.models import UpstreamPlatform
from hotline.knowledge.queries import with_usage
from hotline.lib.planner import planner_without
from hotline.workorders import actions
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's plans")

TABLE = "workorders_workorder"
PARTIAL_FKS = {"wo_upstream_platform_idx": "upstream_platform_id", "wo_merged_into_idx": "merged_into_id",
               "wo_repeat_of_idx": "repeat_of_id", "wo_kb_article_idx": "kb_article_id"}
GONE = ("wo_unit_status_deadline_idx", "wo_unit_open_deadline_idx",
        # Django's names of the plain FK indexes the partial ones replaced
        "workorders_workorder_upstream_platform_id_65f172a7", "workorders_workorder_merged_into_id_ee7b8da0",
        "workorders_workorder_repeat_of_id_2150c415", "workorders_workorder_kb_article_id_1cc95a30")


def _indexes() -> dict[str, dict]:
    with connection.cursor() as cursor:
        return {name: c for name, c in connection.introspection.get_constraints(cursor, TABLE).items() if c["index"]}


def _index_sql(name: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [name])
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
        return cursor.fetchone()[0]


def test_the_mostly_null_foreign_keys_are_indexed_where_set_and_the_old_indexes_are_gone():
    indexes = _indexes()
    for name, column in PARTIAL_FKS.items():
        assert indexes[name]["columns"] == [column], name
        assert re.search(rf'WHERE \(?"?{column}"? IS NOT NULL\)?', _index_sql(name)), _index_sql(name)
    assert not set(GONE) & set(indexes)
    # What serves the unit's inbox and counts on PostgreSQL, and the search by unit and deadline.
    assert "wo_unit_deadline_idx" in indexes or connection.vendor != "postgresql"
    assert "wo_open_summary_idx" in indexes or connection.vendor != "postgresql"


def _plan(sql: str) -> str:
    # Inside a transaction that reads nothing else: on a test-sized table any plan would do, so the
    # scans that need no index are off and the plan shows whether an index can answer at all.
    with planner_without("default", "seqscan", "bitmapscan", "hashjoin", "mergejoin"), connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def _statements_on_orders(run, column: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    return [q["sql"] for q in captured.captured_queries if f'"{TABLE}"."{column}"' in q["sql"] and
            q["sql"].lstrip().startswith(("SELECT", "UPDATE"))]


@postgres_only
def test_protect_and_set_null_look_ups_use_the_partial_indexes(people, new_order):
    order = new_order()
    platform = UpstreamPlatform.objects.create(code="unused", name="没人用的上级平台", short_name="未用")
    article = KnowledgeArticle.objects.filter(active=True).first()

    # Deleting a platform, or an order: Django asks for the orders pointing at it (PROTECT).
    found = {}
    for target, column in ((platform, "upstream_platform_id"), (order, "merged_into_id"), (order, "repeat_of_id")):
        statements = _statements_on_orders(lambda t=target: Collector(using="default").collect([t]), column)
        assert statements, column
        found[column] = statements
    # Deleting an article: its direct answers lose the link (SET_NULL, one UPDATE).
    found["kb_article_id"] = _statements_on_orders(article.delete, "kb_article_id")
    assert found["kb_article_id"] and found["kb_article_id"][0].startswith("UPDATE")
    for column, statements in found.items():
        index = next(name for name, c in PARTIAL_FKS.items() if c == column)
        for sql in statements:
            assert f"using {index}" in _plan(sql), (sql, _plan(sql))


@postgres_only
def test_the_usage_counts_and_the_upstream_duplicate_check_find_their_indexes(people, new_order):
    new_order()
    with CaptureQueriesContext(connection) as captured:
        list(with_usage(KnowledgeArticle.objects.all()))
    assert "using wo_kb_article_idx" in _plan(captured.captured_queries[-1]["sql"])

    # register_order's check that an upstream number is new: the unique constraint's index, not
    # every order of the platform.
    platform = UpstreamPlatform.objects.first()
    with CaptureQueriesContext(connection) as captured:
        with pytest.raises(actions.WorkflowError):
            new_order(source="upstream", upstream_platform=platform, upstream_number="")
        new_order(source="upstream", upstream_platform=platform, upstream_number="SJ-1")
        with pytest.raises(actions.WorkflowError, match="已登记"):
            new_order(source="upstream", upstream_platform=platform, upstream_number="SJ-1")
    [check, *_] = [q["sql"] for q in captured.captured_queries if '"upstream_number" =' in q["sql"]]
    assert "using wo_upstream_number_unique" in _plan(check), _plan(check)
    assert WorkOrder.objects.filter(upstream_number="SJ-1").count() == 1
