"""The character index (0019) serves every phrase; the three pg_trgm indexes (0002, 0013) go.

The character index holds every character and every adjacent pair of an order's title, content
and ``masked_text``; a phrase of three characters or more asks for all its adjacent pairs, which
narrows at least as well as its trigrams did, and ``queries.text_match`` still decides every row.
The trigram indexes were kept for the center's longer phrases only, and each costs on every write
of the order, not just on a change of its text: a status change or an SLA stamp is not a HOT
update (the status and the stamps are in other indexes), so every index of the row gets a new
entry — GIN entries for each trigram of the content among them. Measured on 1M orders
(docs/performance.md, "单位检索：字符索引"), the trigram indexes were about half of what the text
indexes cost per INSERT and per UPDATE; at 10M the SLA sweep's UPDATE of a few hundred orders was
dominated by them. Reversing recreates them (at 10M, hours: plan it like 0019).
"""

from django.db import migrations

from hotline.workorders.migrations._postgres import postgres_indexes

TRIGRAM_INDEXES = (
    ("wo_title_trgm_idx", "ON workorders_workorder USING gin (title gin_trgm_ops)"),
    ("wo_content_trgm_idx", "ON workorders_workorder USING gin (content gin_trgm_ops)"),
    ("wo_masked_text_trgm_idx", "ON workorders_workorder USING gin (masked_text gin_trgm_ops) WHERE masked_text <> ''"),
)
# The shared PostgreSQL-only index operation, run the other way round: forwards drops, backwards
# creates (pg_trgm itself stays installed from 0002).
_trigram = postgres_indexes(TRIGRAM_INDEXES)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0021_supervision_indexes")]

    operations = [migrations.RunPython(_trigram.reverse_code, _trigram.code, elidable=False)]
