"""Excel imports under load and attack: the row cap, bounded memory, capped error lists, damaged
and forged files, and hostile values in every column of both importers.

The story: dispatcher 王 uploads a month of CDRs (20,000 calls, the cap) and the import runs in
the background within 300 MB; someone uploads a 200,000-row file and is told at once, before any
work is queued; a forged workbook is refused with a reason instead of a server error.

The big sheets are written as raw worksheet XML into a workbook openpyxl made (writing 200,000
rows through openpyxl takes minutes on a busy machine; reading them is what is under test).
"""

import datetime as dt
import io
import json
import os
import resource
import threading
import time
import zipfile
from xml.sax.saxutils import escape

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from hotline.accounts.models import User
from hotline.intake import importers, jobs
from hotline.intake.models import Call, ImportJob
from hotline.workorders.models import WorkOrder
from tests.test_import import CALL_HEADERS, ORDER_HEADERS, order_row

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _cell(column: int, row: int, value) -> str:
    ref = f"{chr(ord('A') + column)}{row}"
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def sheet_xml(headers, rows, *, extra: str = "", dimension: bool = True) -> bytes:
    """Worksheet XML with inline strings; ``dimension`` writes the used range at the top as Excel,
    WPS and openpyxl do (a forged file may leave it out)."""
    lines = ['<row r="1">' + "".join(_cell(i, 1, h) for i, h in enumerate(headers)) + "</row>"]
    for n, row in enumerate(rows, start=2):
        lines.append(f'<row r="{n}">' + "".join(_cell(i, n, v) for i, v in enumerate(row) if v is not None)
                     + "</row>")
    size = f'<dimension ref="A1:{chr(ord("A") + len(headers) - 1)}{len(lines)}"/>' if dimension else ""
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet '
            'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + size + "<sheetData>"
            + "".join(lines) + extra + "</sheetData></worksheet>").encode()


def raw_workbook(path, sheet: bytes, *, parts: dict | None = None) -> str:
    """An xlsx made by openpyxl whose first worksheet (and any other ``parts``) are replaced."""
    base = io.BytesIO()
    Workbook().save(base)
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = sheet if item.filename == "xl/worksheets/sheet1.xml" else src.read(item.filename)
            out.writestr(item.filename, (parts or {}).get(item.filename, data))
        for name, data in (parts or {}).items():
            if name not in src.namelist():
                out.writestr(name, data)
    return str(path)


def cdr_rows(n: int, *, start=dt.datetime(2023, 7, 3, 8, 0)):
    for i in range(n):
        t = start + dt.timedelta(seconds=7 * i)
        yield [t.strftime("%Y-%m-%d %H:%M:%S"), 13800000000 + i, i % 90, f"{i % 7}:{i % 60:02d}",
               "是" if i % 5 else "否", "咨询解答未建单" if i % 5 else "未接通/放弃"]


def upload(client, path, kind):
    with open(path, "rb") as f:
        return client.post("/intake/import/", {"kind": kind, "file": f})


# ---------------------------------------------------------------------------------------------
# The row cap


@pytest.fixture
def rows_read(monkeypatch):
    """How many rows the importer pulled out of openpyxl."""
    read = []
    stream = importers.Sheet._stream

    def counting(self, **bounds):
        for values in stream(self, **bounds):
            read.append(1)
            yield values

    monkeypatch.setattr(importers.Sheet, "_stream", counting)
    return read


def test_a_200k_row_file_is_refused_at_once_and_queues_nothing(client, people, tmp_path, rows_read):
    path = raw_workbook(tmp_path / "cdr-200k.xlsx", sheet_xml(CALL_HEADERS[:2], (r[:2] for r in cdr_rows(200_000))))
    assert os.path.getsize(path) < 3 * MB
    client.force_login(people["dispatcher_wang"])

    started = time.process_time()
    response = upload(client, path, "calls")
    spent = time.process_time() - started

    assert response.status_code == 400
    assert "超过单次导入上限 20,000 行（工作表共 200,000 行）" in response.content.decode()
    assert len(rows_read) <= 1 and spent < 5, (len(rows_read), spent)  # the header row, nothing more
    assert ImportJob.objects.count() == 0 and Call.objects.count() == 0
    assert not (tmp_path / "media" / "imports").exists()


def test_a_200k_row_file_that_hides_its_size_fails_in_the_background_at_the_cap(
        client, people, tmp_path, settings, rows_read, django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    sheet = sheet_xml(CALL_HEADERS[:2], (r[:2] for r in cdr_rows(200_000)), dimension=False)
    path = raw_workbook(tmp_path / "cdr-200k.xlsx", sheet)
    client.force_login(people["dispatcher_wang"])

    with django_capture_on_commit_callbacks(execute=True):
        location = upload(client, path, "calls")["Location"]

    job = ImportJob.objects.get()
    assert job.state == "failed" and job.error.startswith("超过单次导入上限 20,000 行（第 20,002 行仍有数据）")
    assert len(rows_read) <= 2 + importers.MAX_ROWS + 1  # two headers, then no further than the cap
    page = client.get(location).content.decode()
    assert "校验失败，未写入任何数据" in page and "超过单次导入上限" in page and "hx-trigger" not in page
    assert Call.objects.count() == 0


def test_the_command_refuses_a_file_over_the_cap(people, tmp_path):
    from django.core.management import CommandError, call_command

    path = raw_workbook(tmp_path / "cdr.xlsx", sheet_xml(CALL_HEADERS[:2], (r[:2] for r in cdr_rows(20_001))))
    with pytest.raises(CommandError, match="超过单次导入上限 20,000 行"):
        call_command("import", "calls", path, "--dry-run")


def test_blank_rows_do_not_count_but_a_sheet_a_million_rows_long_is_refused(people, tmp_path):
    far = '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    path = raw_workbook(tmp_path / "far.xlsx", sheet_xml(CALL_HEADERS[:2], [], extra=far, dimension=False))
    with pytest.raises(importers.ImportFileError, match="超过 100,000 行（含空行）"):
        importers.import_calls(path, dry_run=True)
    gaps = '<row r="5000"><c r="A5000" t="inlineStr"><is><t>2023-07-03 08:00</t></is></c>' \
           '<c r="B5000"><v>13800000000</v></c></row>'
    path = raw_workbook(tmp_path / "gaps.xlsx", sheet_xml(CALL_HEADERS[:2], [], extra=gaps, dimension=False))
    assert importers.import_calls(path, dry_run=True).imported == ["2023-07-03 08:00:00"]


def test_a_sheet_that_declares_too_few_rows_is_read_whole(people, tmp_path):
    sheet = sheet_xml(CALL_HEADERS[:2], (r[:2] for r in cdr_rows(50))).replace(b'ref="A1:B51"', b'ref="A1:B2"')
    result = importers.import_calls(raw_workbook(tmp_path / "short.xlsx", sheet), dry_run=True)
    assert result.rows == 50 and len(result.imported) == 50


# ---------------------------------------------------------------------------------------------
# Memory at the cap, through the page and the background task


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _traced(run):
    """The growth of the process's resident memory while ``run`` runs: its peak, sampled every
    20 ms, over what it was before. tracemalloc would see only Python objects and makes the import
    several times slower (over ten minutes for the cap on a loaded CI machine); RSS is what the
    worker's memory limit sees."""
    before, peak, done = _rss(), [0], threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run()
    finally:
        done.set()
        sampler.join()
    peak[0] = max(peak[0], _rss())
    return peak[0] - before


def test_twenty_thousand_calls_import_in_the_background_within_300_mb(client, people, tmp_path, settings,
                                                                      django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    path = raw_workbook(tmp_path / "cdr-july.xlsx", sheet_xml(CALL_HEADERS, cdr_rows(importers.MAX_ROWS)))
    client.force_login(people["dispatcher_wang"])

    def whole_path():
        with django_capture_on_commit_callbacks(execute=True):
            check_url = upload(client, path, "calls")["Location"]
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"{check_url}confirm/")

    growth = _traced(whole_path)

    assert Call.objects.count() == importers.MAX_ROWS
    job = ImportJob.objects.get(dry_run=False)
    assert job.state == "done" and job.result["imported"] == importers.MAX_ROWS and job.percent == 100
    assert 0 < growth < 300 * MB, f"RSS grew {growth / MB:.0f} MB"


def test_checking_twenty_thousand_orders_stays_within_300_mb(people, tmp_path):
    rows = [[r[h] if not isinstance(r[h], dt.datetime) else r[h].strftime("%Y-%m-%d %H:%M") for h in ORDER_HEADERS]
            for r in (order_row(f"PDS-{i:05d}") for i in range(importers.MAX_ROWS - 1))]
    rows.append([order_row("PDS-LAST", 诉求类型="闲聊类")[h] for h in ORDER_HEADERS[:5]])
    path = raw_workbook(tmp_path / "pds.xlsx", sheet_xml(ORDER_HEADERS, rows))
    del rows
    results = []

    growth = _traced(lambda: results.append(importers.import_orders(path, dry_run=True)))

    result = results[0]
    assert result.rows == importers.MAX_ROWS and [(e.row, e.column) for e in result.errors] == \
        [(importers.MAX_ROWS + 1, "诉求类型")]
    assert WorkOrder.objects.count() == 0
    assert 0 < growth < 300 * MB, f"RSS grew {growth / MB:.0f} MB"


def test_a_file_full_of_errors_lists_the_first_hundred_and_counts_the_rest(client, people, tmp_path, settings,
                                                                           django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    rows = [["七月三日", "abc", "很久"] for _ in range(5000)]
    path = raw_workbook(tmp_path / "bad.xlsx", sheet_xml(CALL_HEADERS[:4], rows))
    client.force_login(people["dispatcher_wang"])
    with django_capture_on_commit_callbacks(execute=True):
        location = upload(client, path, "calls")["Location"]

    page = client.get(location)

    job = ImportJob.objects.get()
    assert job.result["error_count"] == 15000 and job.result["bad_row_count"] == 5000
    assert len(job.result["errors"]) == importers.MAX_ERRORS_LISTED
    text = page.content.decode()
    assert "另有 14900 个错误未列出（共 15000 个，涉及 5000 行）" in text
    assert len(page.content) < 100_000 and text.count("<tr>") == importers.MAX_ERRORS_LISTED + 1
    assert Call.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Damaged and forged files


def test_a_forged_cell_is_refused_with_a_reason(people, tmp_path):
    forged = '<row r="2"><c r="A2" t="s"><v>99999</v></c><c r="B2" t="n"><v>not-a-number</v></c></row>'
    path = raw_workbook(tmp_path / "forged.xlsx", sheet_xml(CALL_HEADERS[:2], [], extra=forged))
    with pytest.raises(importers.ImportFileError, match="第 2 行附近的内容无法读取"):
        importers.import_calls(path)


def test_parts_that_unpack_too_big_are_refused_before_reading(people, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "MAX_SHARED_STRINGS_BYTES", 1 * MB)
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b" " * (2 * MB) + b"</sst>"
    path = raw_workbook(tmp_path / "bomb.xlsx", sheet_xml(CALL_HEADERS[:2], []),
                        parts={"xl/sharedStrings.xml": strings})
    assert os.path.getsize(path) < 100_000  # small on disk, big unpacked
    with pytest.raises(importers.ImportFileError, match="文件内容过大（xl/sharedStrings.xml 解压后 2 MB，上限 1 MB）"):
        importers.check_file(path, "calls")


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04garbage", b"<html></html>", b"PK" + b"\x00" * 100])
def test_not_an_xlsx_at_all(people, tmp_path, data):
    path = tmp_path / "x.xlsx"
    path.write_bytes(data)
    with pytest.raises(importers.ImportFileError, match="不是有效的 Excel"):
        importers.check_file(str(path), "orders")


# ---------------------------------------------------------------------------------------------
# Hostile values in every column


cell_value = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False),
    st.text(max_size=30).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),
    st.sampled_from(["2023-02-30", "2023-07-03 25:00", "2023-07-03T09:00:00+99:00", "0001-01-01", "1e999", "inf",
                     "-1", "99999999:00", "false", "否", "是", "=1+1", "9" * 200, "１３８１２３４１２３４"]),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(min_value=dt.date(1900, 3, 1)), st.times(), st.timedeltas(min_value=dt.timedelta(0),
                                                                       max_value=dt.timedelta(days=9000)),
)
HOSTILE = settings(max_examples=25, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _hostile_file(tmp_path, headers, rows) -> str:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    path = tmp_path / "hostile.xlsx"
    wb.save(path)
    return str(path)


def _check_outcome(result, tmp_path, headers):
    assert result.rows >= result.bad_row_count
    for e in result.errors:
        assert e.row >= 2 and e.message and all(ch.isprintable() for ch in e.message)
    if result.bad_rows:
        out = tmp_path / "errors.xlsx"
        importers.write_error_workbook(result, out)
        rows = list(load_workbook(out).active.iter_rows(values_only=True))  # the error workbook opens
        assert rows[0][-2:] == ("错误说明", "原行号") and len(rows) == len(result.bad_rows) + 1
    json.dumps(result.as_dict())  # what the job stores is plain JSON


@HOSTILE
@given(rows=st.lists(st.lists(cell_value, min_size=len(ORDER_HEADERS), max_size=len(ORDER_HEADERS)),
                     min_size=1, max_size=4))
def test_hostile_order_rows_get_row_errors_not_exceptions(people, tmp_path, rows):
    path = _hostile_file(tmp_path, ORDER_HEADERS, rows)
    result = importers.import_orders(path, skip_bad=True)
    _check_outcome(result, tmp_path, ORDER_HEADERS)
    assert len(result.imported) + len(result.skipped) + result.bad_row_count == result.rows


@HOSTILE
@given(rows=st.lists(st.lists(cell_value, min_size=len(CALL_HEADERS) + 1, max_size=len(CALL_HEADERS) + 1),
                     min_size=1, max_size=4))
def test_hostile_call_rows_get_row_errors_not_exceptions(people, tmp_path, rows):
    path = _hostile_file(tmp_path, [*CALL_HEADERS, "工单编号"], rows)
    result = importers.import_calls(path, skip_bad=True)
    _check_outcome(result, tmp_path, CALL_HEADERS)
    assert len(result.imported) + len(result.skipped) + result.bad_row_count == result.rows


# ---------------------------------------------------------------------------------------------
# Progress while the import's transaction is open


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_while_the_import_writes():
    user = User.objects.create(username="dispatcher_wang_2", role="dispatcher")
    job = ImportJob.objects.create(kind="calls", name="cdr.xlsx", path="imports/x.xlsx", dry_run=False,
                                   created_by=user, created_at=dt.datetime.now(dt.UTC))
    writer = jobs.ProgressWriter(job.pk, every=0)
    writer("check", 20_000, 20_000)  # outside any transaction: an ordinary update
    assert ImportJob.objects.get(pk=job.pk).phase == "check"

    with transaction.atomic():  # the import's one transaction
        writer("write", 5_000, 20_000)
        if connection.vendor == "postgresql":
            other = connections.create_connection("default")
            try:
                with other.cursor() as cursor:
                    cursor.execute(f"SELECT phase, done FROM {ImportJob._meta.db_table} WHERE id = %s", [job.pk])
                    seen = cursor.fetchone()
            finally:
                other.close()
            assert seen == ("write", 5_000)  # another process sees the bar move before the commit
        else:
            # SQLite: the transaction holds the one write lock; the bar waits for the commit.
            assert ImportJob.objects.get(pk=job.pk).done == 20_000
    writer.close()
    job.refresh_from_db()
    assert job.percent == (62 if connection.vendor == "postgresql" else 50)
