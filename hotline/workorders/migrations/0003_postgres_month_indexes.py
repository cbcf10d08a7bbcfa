"""Indexes that keep a month's statistics and assessment proportional to the month (PostgreSQL).

* ``wo_month_cover_idx``: orders by registration time with every column the month's counts read
  (INCLUDE). The statistics, the briefing's category counts and the overdue list become
  index-only range scans: about 130 bytes an order instead of the whole row (content, answer).
* ``asg_lead_dispatched_idx``: lead assignments by dispatch time. The assessment's population
  (lead assignments dispatched in the month) and the statistics' sign-for counts read the month
  through it instead of every assignment ever made.

docs/performance.md has the measurements behind both. SQLite keeps the model's indexes only.
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

COVERED = ("id", "lead_unit_id", "appeal_type_id", "upstream_platform_id", "category_id", "source", "disposition",
           "status", "handle_deadline", "replied_at", "satisfaction", "callback_solved", "callback_at",
           "rework_count", "overdue_at", "excluded_from_assessment")
INDEXES = (
    ("wo_month_cover_idx",
     f"ON workorders_workorder (received_at) INCLUDE ({', '.join(COVERED)})"),
    ("asg_lead_dispatched_idx", "ON workorders_assignment (dispatched_at) WHERE role = 'lead'"),
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0002_postgres_search")]

    operations = [postgres_indexes(INDEXES)]
