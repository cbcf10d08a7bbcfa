"""Backup and restore: the night before an upgrade the admin runs ``hotline backup``; after a bad
day ``hotline restore`` brings the orders back — on SQLite and on PostgreSQL (DATABASE_URL=postgres://…).

These tests touch the whole database outside a transaction, hence ``transaction=True``.
"""

import pytest
from django.core.management import CommandError, call_command

from hotline.intake.backup import tables_with_data
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db(transaction=True)


def test_backup_then_restore_brings_the_orders_back(new_order, tmp_path, capsys):
    first = new_order(title="备份前的工单")
    dump = tmp_path / "hotline.backup"
    call_command("backup", "-o", str(dump))
    assert "已备份" in capsys.readouterr().out and dump.stat().st_size > 0
    assert not list(tmp_path.glob(".*.part"))

    new_order(title="备份后的工单")
    WorkOrder.objects.filter(pk=first.pk).update(title="被改坏的标题")

    with pytest.raises(CommandError, match="不是空的.*--force"):
        call_command("restore", str(dump))
    assert WorkOrder.objects.count() == 2  # refused: nothing changed

    call_command("restore", str(dump), "--force")
    assert list(WorkOrder.objects.values_list("title", flat=True)) == ["备份前的工单"]
    assert WorkOrder.objects.get().events.filter(action="register").exists()


def test_restore_into_an_empty_database_needs_no_force(new_order, tmp_path):
    new_order()
    dump = tmp_path / "hotline.backup"
    call_command("backup", "-o", str(dump))
    call_command("flush", interactive=False)
    assert tables_with_data() == []

    call_command("restore", str(dump))
    assert WorkOrder.objects.count() == 1


def test_a_file_that_is_not_a_backup_is_refused_before_anything_changes(new_order, tmp_path):
    new_order()
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database at all" * 100)
    for args in ([str(junk)], [str(junk), "--force"], [str(tmp_path / "missing.backup"), "--force"]):
        with pytest.raises(CommandError, match="不是|不存在"):
            call_command("restore", *args)
    assert WorkOrder.objects.count() == 1


def test_backup_into_a_missing_directory_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="目录不存在"):
        call_command("backup", "-o", str(tmp_path / "nowhere" / "x.backup"))


def test_cached_rows_neither_block_a_restore_nor_outlive_it(new_order, tmp_path):
    """Without Redis the shared cache is a database table: its rows are not data worth protecting,
    and nothing cached before a restore is served after it."""
    from django.core.cache import caches

    new_order()
    dump = tmp_path / "hotline.backup"
    call_command("backup", "-o", str(dump))
    call_command("flush", interactive=False)
    caches["shared"].set("home-counts", 41)
    assert tables_with_data() == []
    call_command("restore", str(dump))
    assert WorkOrder.objects.count() == 1
    assert caches["shared"].get("home-counts") is None
