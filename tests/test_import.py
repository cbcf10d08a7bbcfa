"""Excel imports: dispatcher 王 loads the prefecture platform's export and the telephony CDRs.

The story: 王 downloads the order template, fills it from 平顶山市民呼必应's daily export and
imports it; a file with one bad row imports nothing and names each row and column; with
``--skip-bad`` the good rows go in and the bad ones come back as an error workbook. Importing the
same file again adds nothing. The call-center's CDR export goes into the call records in bulk.
"""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult
from openpyxl import Workbook, load_workbook

from hotline.accounts.models import AuditLog
from hotline.intake import importers
from hotline.intake.models import Call, ImportJob
from hotline.workorders.models import Event, WorkOrder
from tests.conftest import at

ORDER_HEADERS = ["上级工单号", "上级平台", "标题", "诉求内容", "诉求类型", "热点分类", "所在乡镇街道", "详细地址",
                 "来电人", "联系电话", "办理时限", "登记时间"]


def order_row(number="PDS-0001", **overrides):
    row = {"上级工单号": number, "上级平台": "平顶山市民呼必应", "标题": "村内道路破损",
           "诉求内容": f"群众反映杨楼镇某村主路破损（{number}）", "诉求类型": "问题处理类",
           "热点分类": "农村管理—人居环境", "所在乡镇街道": "杨楼镇", "详细地址": "某村主路", "来电人": "张三丰",
           "联系电话": 13812341234, "办理时限": dt.datetime(2023, 7, 10, 18, 0),
           "登记时间": dt.datetime(2023, 7, 3, 8, 55)}
    row.update(overrides)
    return row


def workbook(path, headers, rows):
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    wb.save(path)
    return str(path)


def test_orders_are_registered_and_queued_for_dispatch(people, tmp_path, capsys):
    path = workbook(tmp_path / "pds.xlsx", ORDER_HEADERS,
                    [order_row("PDS-0001"), order_row("PDS-0002", 诉求类型="投诉举报类", 办理时限="2023-07-12")])

    call_command("import", "orders", path)

    assert "已导入工单 2 条" in capsys.readouterr().out
    first, second = WorkOrder.objects.order_by("upstream_number")
    assert first.status == second.status == "awaiting_dispatch"
    assert first.source == "upstream" and first.upstream_platform.code == "pds"
    assert first.caller_phone == "13812341234" and first.town.short_name == "杨楼镇"
    assert first.received_at == at(2023, 7, 3, 8, 55) and first.number.startswith("RZ2307-")
    assert second.upstream_deadline == at(2023, 7, 12, 23, 59, 59)
    assert "Excel 导入：pds.xlsx 第 2 行" in first.events.get(action="register").note
    assert AuditLog.objects.filter(action="import_orders", object_id="pds.xlsx").count() == 1


def test_one_bad_row_imports_nothing_and_every_problem_is_named(people, tmp_path, capsys):
    path = workbook(tmp_path / "bad.xlsx", ORDER_HEADERS, [
        order_row("PDS-0001"),
        order_row("PDS-0002", 热点分类="外星事务—飞碟", 所在乡镇街道="北京市"),
        order_row("PDS-0003", 上级平台="国务院平台", 登记时间="昨天"),
        order_row("PDS-0001"),
    ])
    events = Event.objects.count()

    with pytest.raises(CommandError, match="文件未导入"):
        call_command("import", "orders", path)

    err = capsys.readouterr().err
    assert "第 3 行“热点分类”列" in err and "第 3 行“所在乡镇街道”列" in err
    assert "第 4 行“上级平台”列" in err and "第 4 行“登记时间”列" in err
    assert "第 5 行“上级工单号”列：与第 2 行重复" in err
    assert WorkOrder.objects.count() == 0 and Event.objects.count() == events


def test_dry_run_checks_everything_and_writes_nothing(people, tmp_path, capsys):
    path = workbook(tmp_path / "pds.xlsx", ORDER_HEADERS, [order_row("PDS-0001"), order_row("PDS-0002")])

    call_command("import", "orders", path, "--dry-run")

    out = capsys.readouterr().out
    assert "试运行" in out and "可导入工单 2 条" in out
    assert WorkOrder.objects.count() == 0
    call_command("import", "orders", path)
    assert WorkOrder.objects.get(upstream_number="PDS-0001").number == "RZ2307-000001"  # dry run drew no numbers


def test_skip_bad_imports_the_good_rows_and_writes_an_error_workbook(people, tmp_path):
    path = workbook(tmp_path / "mixed.xlsx", ORDER_HEADERS, [
        order_row("PDS-0001"), order_row("PDS-0002", 诉求类型="闲聊类", 详细地址="-1+2"), order_row("PDS-0003"),
    ])
    errors = tmp_path / "mixed.errors.xlsx"

    call_command("import", "orders", path, "--skip-bad")

    assert sorted(WorkOrder.objects.values_list("upstream_number", flat=True)) == ["PDS-0001", "PDS-0003"]
    sheet = load_workbook(errors).active
    rows = list(sheet.iter_rows(values_only=True))
    assert sheet["H2"].value == "-1+2" and sheet["H2"].quotePrefix  # written back as text, never a formula
    assert rows[0][-2:] == ("错误说明", "原行号")
    assert rows[1][0] == "PDS-0002" and "“诉求类型”列" in rows[1][-2] and rows[1][-1] == 3
    assert len(rows) == 2


def test_importing_the_same_file_twice_adds_nothing(people, tmp_path, capsys):
    path = workbook(tmp_path / "pds.xlsx", ORDER_HEADERS, [order_row("PDS-0001")])
    call_command("import", "orders", path)
    call_command("import", "orders", path)

    assert "已存在跳过 1 条" in capsys.readouterr().out
    assert WorkOrder.objects.count() == 1


def test_a_reused_upstream_number_with_other_content_is_an_error(people, tmp_path):
    call_command("import", "orders", workbook(tmp_path / "a.xlsx", ORDER_HEADERS, [order_row("PDS-0001")]))
    result = importers.import_orders(workbook(tmp_path / "b.xlsx", ORDER_HEADERS,
                                              [order_row("PDS-0001", 诉求内容="另一件事"), order_row("PDS-0009")]))

    assert [(e.row, e.column) for e in result.errors] == [(2, "上级工单号")]
    assert WorkOrder.objects.count() == 1


def test_not_an_excel_file_or_missing_columns(people, tmp_path):
    junk = tmp_path / "orders.xlsx"
    junk.write_text("上级工单号,标题\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="不是有效的 Excel"):
        call_command("import", "orders", str(junk))
    short = workbook(tmp_path / "short.xlsx", ["上级工单号", "标题"], [{"上级工单号": "X", "标题": "Y"}])
    with pytest.raises(CommandError, match="缺少必填列：上级平台、诉求内容、诉求类型"):
        call_command("import", "orders", short)


def test_the_template_round_trips(people, tmp_path):
    template = tmp_path / "template.xlsx"
    call_command("import", "template", "orders", "-o", str(template))

    wb = load_workbook(template)
    assert [c.value for c in wb.worksheets[0][1]] == [c.header for c in importers.ORDER_COLUMNS]
    assert "说明" in wb.sheetnames and "可用取值" in wb.sheetnames
    values = list(wb["可用取值"].iter_rows(values_only=True))
    assert "杨楼镇" in [row[3] for row in values]
    ws = wb.worksheets[0]
    ws.append([order_row()[c.header] if c.header in ORDER_HEADERS else None for c in importers.ORDER_COLUMNS])
    wb.save(template)
    assert importers.import_orders(template).imported == ["RZ2307-000001"]


# ---------------------------------------------------------------------------------------------
# Calls

CALL_HEADERS = ["来电时间", "主叫号码", "排队时长", "通话时长", "是否接通", "结果"]


def test_calls_are_imported_in_bulk(people, new_order, tmp_path, capsys):
    order = new_order()
    rows = [{"来电时间": dt.datetime(2023, 7, 3, 8, 1, 15), "主叫号码": 13812341234, "排队时长": 8,
             "通话时长": "3:25", "是否接通": "是", "结果": "登记工单", "工单编号": order.number},
            {"来电时间": "2023-07-03 08:02:00", "主叫号码": "0375-6012345", "排队时长": "00:00:40",
             "通话时长": 0, "是否接通": "否", "结果": ""},
            {"来电时间": dt.datetime(2023, 7, 3, 8, 3), "主叫号码": "13900000000", "通话时长": "95秒"}]
    path = workbook(tmp_path / "cdr.xlsx", [*CALL_HEADERS, "工单编号"], rows)

    call_command("import", "calls", path)

    assert "已导入来电记录 3 条" in capsys.readouterr().out
    first, second, third = Call.objects.order_by("started_at")
    assert first.started_at == at(2023, 7, 3, 8, 1, 15) and first.talk_seconds == 205 and first.wait_seconds == 8
    assert first.result == "order" and first.order == order
    assert second.answered is False and second.result == "abandoned" and second.wait_seconds == 40
    assert third.answered is True and third.result == "answered" and third.talk_seconds == 95

    call_command("import", "calls", path)
    assert Call.objects.count() == 3 and "已存在跳过 3 条" in capsys.readouterr().out


def test_bad_call_rows_import_nothing(people, tmp_path, capsys):
    rows = [{"来电时间": dt.datetime(2023, 7, 3, 8, 1), "主叫号码": "13812341234", "通话时长": 30},
            {"来电时间": "七月三日", "主叫号码": "abc", "通话时长": "很久", "结果": "挂了"}]
    path = workbook(tmp_path / "cdr.xlsx", CALL_HEADERS, rows)

    with pytest.raises(CommandError, match="文件未导入"):
        call_command("import", "calls", path)

    err = capsys.readouterr().err
    for column in ("来电时间", "主叫号码", "通话时长", "结果"):
        assert f"第 3 行“{column}”列" in err
    assert Call.objects.count() == 0


def test_parse_seconds():
    assert [importers.parse_seconds(v) for v in (None, 35, 35.4, "35", "35秒", "1:05", "01:00:05",
                                                 dt.time(0, 2, 3), dt.timedelta(minutes=1))] == \
        [0, 35, 35, 35, 35, 65, 3605, 123, 60]
    for bad in ("-3", "1:2:3:4", "abc", True):
        with pytest.raises(ValueError):
            importers.parse_seconds(bad)


# ---------------------------------------------------------------------------------------------
# The console page: upload, check in the background, confirm, import in the background

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def immediate(settings):
    settings.TASKS = IMMEDIATE


def upload(client, path, kind="orders"):
    with open(path, "rb") as f:
        return client.post("/intake/import/", {"kind": kind, "file": f})


def test_wang_checks_then_confirms_an_import(client, people, tmp_path, immediate, django_capture_on_commit_callbacks):
    path = workbook(tmp_path / "平顶山0703.xlsx", ORDER_HEADERS, [order_row("PDS-0001"), order_row("PDS-0002")])
    client.force_login(people["dispatcher_wang"])

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, path)
    check = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/intake/import/{check.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "可导入工单 2 条" in page and "确认导入 2 条" in page and "hx-trigger" not in page
    assert check.task_id and check.state == "done" and check.dry_run and WorkOrder.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/intake/import/{check.pk}/confirm/")
    job = ImportJob.objects.get(checked=check)
    assert confirmed["Location"] == f"/intake/import/{job.pk}/"
    done = client.get(confirmed["Location"]).content.decode()
    assert "已导入工单 2 条" in done and "RZ2307-000001" in done
    assert set(WorkOrder.objects.values_list("registered_by__username", flat=True)) == {"dispatcher_wang"}
    log = AuditLog.objects.get(action="import_orders")
    assert log.actor == people["dispatcher_wang"] and log.object_id == "平顶山0703.xlsx"
    assert not list((tmp_path / "media" / "imports").iterdir())  # the upload is removed once imported

    again = client.post(f"/intake/import/{check.pk}/confirm/")  # a second click: the same job, nothing new
    assert again["Location"] == f"/intake/import/{job.pk}/" and WorkOrder.objects.count() == 2
    listing = client.get("/intake/import/").content.decode()
    assert "平顶山0703.xlsx" in listing and "已导入工单 2 条" in listing


def test_the_page_shows_every_bad_row_and_offers_no_confirmation(client, people, tmp_path, immediate,
                                                                  django_capture_on_commit_callbacks):
    path = workbook(tmp_path / "bad.xlsx", ORDER_HEADERS, [order_row("PDS-0001"), order_row("PDS-0002", 诉求类型="闲聊类")])
    client.force_login(people["supervisor_zhou"])

    with django_capture_on_commit_callbacks(execute=True):
        location = upload(client, path)["Location"]

    page = client.get(location).content.decode()
    assert "闲聊类" in page and "<td>3</td>" in page
    assert "确认导入" not in page and WorkOrder.objects.count() == 0
    check = ImportJob.objects.get()
    assert client.post(f"/intake/import/{check.pk}/confirm/").status_code == 400
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    refused = upload(client, junk)
    assert refused.status_code == 400 and "不是有效的 Excel" in refused.content.decode()
    assert ImportJob.objects.count() == 1  # a refused file queues nothing


def test_someone_elses_job_cannot_be_seen_or_confirmed(client, people, tmp_path, immediate,
                                                         django_capture_on_commit_callbacks):
    path = workbook(tmp_path / "pds.xlsx", ORDER_HEADERS, [order_row("PDS-0001")])
    client.force_login(people["dispatcher_wang"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, path)
    check = ImportJob.objects.get()

    client.force_login(people["supervisor_zhou"])
    for url in (f"/intake/import/{check.pk}/", f"/intake/import/{check.pk}/status/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/intake/import/{check.pk}/confirm/").status_code == 404
    assert WorkOrder.objects.count() == 0 and ImportJob.objects.count() == 1


def test_only_dispatchers_and_supervisors_import(client, people, tmp_path):
    path = workbook(tmp_path / "pds.xlsx", ORDER_HEADERS, [order_row("PDS-0001")])
    assert client.get("/intake/import/").status_code == 302
    for name in ("handler_qian", "operator_li", "auditor_wu"):
        client.force_login(people[name])
        assert client.get("/intake/import/").status_code == 403
        assert upload(client, path).status_code == 403
    assert WorkOrder.objects.count() == 0 and ImportJob.objects.count() == 0


def test_template_download_from_the_page(client, people):
    client.force_login(people["dispatcher_wang"])
    response = client.get("/intake/import/?template=calls")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(__import__("io").BytesIO(response.content))
    assert [c.value for c in wb.worksheets[0][1]] == [c.header for c in importers.CALL_COLUMNS]


def test_the_database_worker_runs_the_import_and_the_page_follows_it(client, people, tmp_path,
                                                                     django_capture_on_commit_callbacks):
    """The default setup: the job waits in the database queue until ``hotline db_worker`` takes it."""
    from tests.test_tasks import run_next_task

    path = workbook(tmp_path / "pds.xlsx", ORDER_HEADERS, [order_row("PDS-0001"), order_row("PDS-0002")])
    client.force_login(people["dispatcher_wang"])
    with django_capture_on_commit_callbacks(execute=True):
        job_url = upload(client, path)["Location"]
    job = ImportJob.objects.get()
    assert DBTaskResult.objects.get(id=job.task_id).status == "READY"

    waiting = client.get(f"{job_url}status/", headers={"HX-Request": "true"}).content.decode()
    assert "排队中" in waiting and 'hx-trigger="every 2s"' in waiting and "<progress" in waiting

    run_next_task("worker-1")
    job.refresh_from_db()
    assert job.state == "done" and job.result["imported"] == 2 and job.percent == 100
    assert DBTaskResult.objects.get(id=job.task_id).status == "SUCCESSFUL"
    finished = client.get(f"{job_url}status/", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in finished and "可导入工单 2 条" in finished

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{job_url}confirm/")
    run_next_task("worker-1")
    assert WorkOrder.objects.count() == 2
    assert ImportJob.objects.get(checked=job).state == "done"


def test_a_file_gone_from_storage_fails_the_job_with_a_reason(client, people, tmp_path, immediate,
                                                              django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    path = workbook(tmp_path / "pds.xlsx", ORDER_HEADERS, [order_row("PDS-0001")])
    client.force_login(people["dispatcher_wang"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, path)
    check = ImportJob.objects.get()
    default_storage.delete(check.path)

    response = client.post(f"/intake/import/{check.pk}/confirm/")
    assert response.status_code == 400 and "已过期" in response.content.decode()
    assert WorkOrder.objects.count() == 0
