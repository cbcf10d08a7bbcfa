"""Attachments: the file boundary (hostile files made here, in the test), the actions that store
files, and the door that serves them (赵 of 杨楼镇 sees his order's files, 钱 of 寄料镇 gets 404)."""

import datetime as dt
import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image

from hotline.lib import files
from hotline.lib.files import FileRejected, Limits, inspect

# ---------------------------------------------------------------------------------------------
# Files made in the test


def jpeg(size=(64, 48), color=(200, 30, 30), exif=None) -> bytes:
    out = io.BytesIO()
    im = Image.new("RGB", size, color)
    if exif is not None:
        im.save(out, "JPEG", exif=exif)
    else:
        im.save(out, "JPEG")
    return out.getvalue()


def png(size=(40, 30), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (0, 128, 0, 128) if mode == "RGBA" else 0).save(out, "PNG")
    return out.getvalue()


def gps_exif():
    exif = Image.Exif()
    exif[0x010F] = "HUAWEI"  # Make
    exif[0x0110] = "P60 Pro"  # Model
    exif[0x013B] = "张三丰"  # Artist
    exif[0x8825] = {1: "N", 2: (34.0, 10.0, 5.5), 3: "E", 4: (112.0, 50.0, 2.0)}  # GPS IFD
    return exif


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes whose header declares ``width``×``height`` (an image bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def zip_bytes(members: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return out.getvalue()


def docx() -> bytes:
    from docx import Document

    out = io.BytesIO()
    document = Document()
    document.add_paragraph("汝州市杨楼镇职责清单（节选）")
    document.save(out)
    return out.getvalue()


def pdf(extra: bytes = b"") -> bytes:
    body = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R" + extra + b">>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    return body


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"PE\x00\x00" + b"\x90" * 400
SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>fetch("/orders/export.xlsx")</script><rect width="10" height="10"/></svg>')

# ---------------------------------------------------------------------------------------------
# The boundary, without a database


def test_a_photo_is_re_encoded_without_exif_or_gps_and_gets_a_thumbnail():
    original = jpeg((800, 600), exif=gps_exif())
    assert b"HUAWEI" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    clean = inspect(original, "井盖破损.JPG")
    assert clean.content_type == "image/jpeg" and clean.name == "井盖破损.jpg"
    assert (clean.width, clean.height) == (800, 600)
    stored = Image.open(io.BytesIO(clean.data))
    assert not stored.getexif() and b"HUAWEI" not in clean.data and "张三丰".encode() not in clean.data
    thumb = Image.open(io.BytesIO(clean.thumbnail))
    assert thumb.format == "JPEG" and max(thumb.size) == 320
    assert clean.sha256 == __import__("hashlib").sha256(clean.data).hexdigest()


def test_an_upright_photo_stays_upright_once_its_orientation_tag_is_gone():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    clean = inspect(jpeg((60, 20), exif=exif), "x.jpg")
    assert (clean.width, clean.height) == (60, 20)  # as sent
    assert Image.open(io.BytesIO(clean.data)).size == (20, 60)  # as seen


def test_png_and_webp_and_documents_are_kept():
    assert inspect(png(), "a.png").content_type == "image/png"
    out = io.BytesIO()
    Image.new("RGB", (30, 30), "blue").save(out, "WEBP")
    assert inspect(out.getvalue(), "a.webp").content_type == "image/webp"
    assert inspect(pdf(), "依据.pdf").content_type == "application/pdf"
    kept = inspect(docx(), "职责清单.docx")
    assert kept.extension == "docx" and kept.thumbnail is None


@pytest.mark.parametrize("data, name, words", [
    (jpeg() + zip_bytes({"evil.html": "<script>alert(1)</script>"}), "photo.jpg", "夹带了其他内容"),
    (jpeg() + b"<html><script>alert(1)</script></html>", "photo.jpg", "夹带了其他内容"),
    (png() + zip_bytes({"a.php": "<?php system($_GET['c']); ?>"}), "photo.png", "夹带了其他内容"),
    (png_declaring(100_000, 100_000), "bomb.png", "尺寸"),
    (png_declaring(13_000, 100), "wide.png", "13000×100 过大"),
    (EXE, "现场照片.jpg", "可执行程序"),
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "photo.jpg", "可执行程序"),
    (b"#!/bin/sh\nrm -rf /\n", "photo.jpg", "脚本"),
    (SVG, "logo.svg", "SVG"),
    (b"\xef\xbb\xbf  <svg onload=alert(1)></svg>", "logo.png", "SVG"),
    (b"<!DOCTYPE html><html><body>hi</body></html>", "a.pdf", "网页"),
    (zip_bytes({"a.txt": "x"}), "a.docx", "压缩包"),
    (zip_bytes({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>", "word/vbaProject.bin": "x"}),
     "a.docm", "宏"),
    (pdf(b"/OpenAction<</S/JavaScript/JS(app.alert(1))>>"), "a.pdf", "脚本"),
    (pdf() + zip_bytes({"x.html": "<script></script>"}), "a.pdf", "夹带"),
    (jpeg()[:200], "cut.jpg", "损坏"),
    (b"just some text", "a.txt", "不支持该文件类型"),
    (b"", "empty.jpg", "空文件"),
])
def test_hostile_files_are_refused_in_chinese(data, name, words):
    with pytest.raises(FileRejected) as refused:
        inspect(data, name)
    assert words in str(refused.value)


def test_a_phones_own_trailer_is_dropped_but_a_hidden_archive_is_refused():
    samsung = jpeg() + b"\x00\x00SEFH" + b"Image_UTC_Data1688350000000" + b"SEFT"
    clean = inspect(samsung, "IMG_0001.jpg")
    assert b"SEFH" not in clean.data and b"Image_UTC_Data" not in clean.data
    # An EXIF thumbnail holds a JPEG (and its end marker) of its own: the walk finds the real end.
    exif = gps_exif()
    with_thumb = io.BytesIO()
    im = Image.new("RGB", (200, 100), "gray")
    im.save(with_thumb, "JPEG", exif=exif)
    assert inspect(with_thumb.getvalue(), "a.jpg").width == 200
    with pytest.raises(FileRejected, match="夹带了其他内容"):
        inspect(with_thumb.getvalue() + zip_bytes({"x.js": "alert(1)"}), "a.jpg")


def test_what_phones_append_is_kept_out_but_not_refused():
    import random

    noise = random.Random(7).randbytes(300_000)  # stands in for a motion photo's video: any bytes
    motion = jpeg() + b"\x00\x00\x00\x18ftypmp42" + noise.replace(b"PK\x05\x06", b"")
    assert inspect(motion, "MVIMG_0001.jpg").data.count(b"ftyp") == 0
    gain_map = jpeg((64, 48)) + jpeg((32, 24))  # a second JPEG after the first (Ultra HDR gain map)
    assert inspect(gain_map, "PXL_0001.jpg").width == 64
    mpo = io.BytesIO()  # a camera's multi-picture file: Pillow reads it as "MPO"
    Image.new("RGB", (80, 60), "red").save(mpo, "MPO", save_all=True, append_images=[Image.new("RGB", (80, 60))])
    kept = inspect(mpo.getvalue(), "DSCF0001.JPG")
    assert Image.open(io.BytesIO(kept.data)).format == "JPEG" and len(kept.data) < len(mpo.getvalue())
    with pytest.raises(FileRejected, match="夹带了其他内容"):
        inspect(gain_map + b"<html><script>alert(1)</script>", "PXL_0002.jpg")
    with pytest.raises(FileRejected, match="夹带了其他内容"):  # a ZIP behind some padding still unzips
        inspect(jpeg() + b"padding" * 10 + zip_bytes({"a.html": "<script></script>"}), "a.jpg")


def test_a_zip_bomb_dressed_as_a_document_is_refused():
    bomb = zip_bytes({"[Content_Types].xml": "<Types/>", "word/document.xml": "0" * (2 * 1024 * 1024)})
    with pytest.raises(FileRejected, match="解压后过大"):
        inspect(bomb, "a.docx", limits=Limits(max_unzipped=1024 * 1024))


def test_oversize_and_overcount():
    with pytest.raises(FileRejected, match="超过 1 MB"):
        inspect(b"\xff\xd8\xff" + b"\x00" * (1024 * 1024), "big.jpg", limits=Limits(max_bytes=1024 * 1024))
    with pytest.raises(FileRejected, match="一次最多上传 9 个附件"):
        files.check_count(10, 0, per_upload=9, per_order=30)
    with pytest.raises(FileRejected, match="该工单已有 28 个，还能上传 2 个"):
        files.check_count(3, 28, per_upload=9, per_order=30)


def test_the_portal_takes_photos_only():
    with pytest.raises(FileRejected, match="只能上传JPG、PNG、WebP 图片"):
        inspect(pdf(), "a.pdf", images_only=True)


def test_a_sent_name_never_becomes_a_path():
    assert files.clean_name("../../etc/passwd", "jpg") == "passwd.jpg"
    assert files.clean_name("C:\\Users\\a\\照片 1.exe", "png") == "照片 1.png"
    assert files.clean_name("", "pdf") == "附件.pdf"


# ---------------------------------------------------------------------------------------------
# Storing through the actions, and the door (with a database)

from conftest import at  # noqa: E402
from django.test import Client  # noqa: E402


@pytest.fixture
def store(settings, tmp_path):
    """The attachments storage in a directory of the test's own; returns a function listing its files."""
    from hotline.workorders import attachments

    settings.STORAGES = {**settings.STORAGES, "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    attachments._uncommitted().clear()  # names an earlier test's transaction (never committed) left
    return lambda: sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())


def clean(data=None, name="现场.jpg"):
    return inspect(data or jpeg((640, 480), exif=gps_exif()), name)


def as_client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def dispatched(people, unit, new_order, **kw):
    from hotline.workorders import actions

    order = new_order(**kw)
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 5))
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 10, 0))
    actions.sign(order, acting_user=people["handler_zhao"], at=at(2023, 7, 3, 11, 0))
    return order


def test_a_reply_stores_its_evidence_with_its_event(people, unit, new_order, store):
    from hotline.workorders import actions
    from hotline.workorders.models import Attachment, Event

    order = dispatched(people, unit, new_order)
    actions.reply(order, acting_user=people["handler_zhao"], public_reply="已修补路面", solved=True,
                  evidence=[clean(), inspect(pdf(), "验收单.pdf")], evidence_public=True, at=at(2023, 7, 4, 9, 0))
    photo, sheet = Attachment.objects.filter(order=order).order_by("id")
    reply = Event.objects.get(order=order, action="reply")
    assert photo.event == reply and reply.data["attachments"] == 2
    assert photo.kind == "evidence" and photo.public and photo.uploader_unit.short_name == "杨楼镇"
    assert photo.thumbnail_name and not sheet.thumbnail_name and sheet.content_type == "application/pdf"
    assert len(store()) == 3 and all(name.startswith("2023/07/") for name in store())


def test_requests_and_supervision_carry_their_documents(people, unit, new_order, store):
    from hotline.workorders import actions
    from hotline.workorders.models import Attachment

    order = dispatched(people, unit, new_order)
    actions.request_return(order, acting_user=people["handler_zhao"], reason="不属本镇职责", basis="职责清单",
                           basis_files=[inspect(docx(), "职责清单.docx")], at=at(2023, 7, 3, 12, 0))
    actions.supervise(order, acting_user=people["supervisor_zhou"], notice="请于两日内反馈",
                      documents=[inspect(pdf(), "督办通知.pdf")], at=at(2023, 7, 3, 14, 0))
    basis, notice = Attachment.objects.filter(order=order).order_by("id")
    assert basis.kind == "basis" and basis.request.kind == "return"
    assert notice.kind == "supervision" and notice.reminder.kind == "supervision"


def test_a_refused_action_stores_nothing_and_a_rollback_leaves_no_file(people, unit, new_order, store, settings):
    from django.db import transaction

    from hotline.workorders import actions
    from hotline.workorders.attachments import discard_uncommitted
    from hotline.workorders.models import Attachment
    from hotline.workorders.workflow import WorkflowError

    order = dispatched(people, unit, new_order)
    with pytest.raises(WorkflowError):  # 钱 of 寄料镇 may not reply: refused before any file is written
        actions.reply(order, acting_user=people["handler_qian"], public_reply="x", solved=True, evidence=[clean()])
    assert store() == []
    settings.HOTLINE_ATTACHMENTS = {**settings.HOTLINE_ATTACHMENTS, "MAX_PER_ORDER": 2}
    with pytest.raises(WorkflowError, match="每件工单最多 2 个附件"):
        actions.reply(order, acting_user=people["handler_zhao"], public_reply="x", solved=True,
                      evidence=[clean(), clean(), clean()])
    assert store() == []
    # Written, then rolled back by a later step of the caller's transaction: deleted when the request ends.
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.reply(order, acting_user=people["handler_zhao"], public_reply="x", solved=True, evidence=[clean()])
        assert len(store()) == 2
        raise RuntimeError("a later step failed")
    assert not Attachment.objects.exists()
    assert discard_uncommitted() == 2 and store() == []


def test_the_unit_sees_its_order_files_and_another_town_gets_404(people, unit, new_order, store):
    from hotline.accounts.models import AuditLog
    from hotline.workorders import actions
    from hotline.workorders.models import Attachment

    order = new_order(attachments=[clean(name="张三丰家门口.jpg")])
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 5))
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 10, 0))
    photo = Attachment.objects.get(order=order)
    assert photo.kind == "intake"
    zhao, qian = as_client(people["handler_zhao"]), as_client(people["handler_qian"])
    page = zhao.get(f"/orders/{order.number}/").content.decode()
    assert f"/attachments/{photo.pk}/thumb/" in page and "张**家门口.jpg" in page and "张三丰" not in page
    got = zhao.get(f"/attachments/{photo.pk}/")
    body = b"".join(got.streaming_content)
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg" and b"HUAWEI" not in body
    assert got["X-Content-Type-Options"] == "nosniff" and "no-store" in got["Cache-Control"]
    assert "sandbox" in got["Content-Security-Policy"] and "inline" in got["Content-Disposition"]
    assert AuditLog.objects.filter(action="download_attachment", actor=people["handler_zhao"],
                                   object_id=order.number, detail__attachment=photo.pk).count() == 1
    thumb = zhao.get(f"/attachments/{photo.pk}/thumb/")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    for url in (f"/attachments/{photo.pk}/", f"/attachments/{photo.pk}/thumb/", "/attachments/999999/",
                "/attachments/abc/", "/attachments/99999999999999999999999/"):
        assert qian.get(url).status_code == 404
    assert not AuditLog.objects.filter(action="download_attachment", actor=people["handler_qian"]).exists()
    from hotline.web.audit_display import detail_text

    row = AuditLog.objects.get(action="download_attachment")
    assert row.get_action_display() == "下载附件"
    assert set(detail_text(row.detail).split("，")) == {f"附件编号 {photo.pk}", "文件名 张**家门口.jpg", "附件类别 登记材料"}


def test_a_confidential_orders_files_reach_only_the_unit_that_added_them(people, unit, new_order, store):
    from hotline.workorders import actions
    from hotline.workorders.models import Attachment

    order = new_order(confidential=True, attachments=[clean(name="来电人材料.jpg")])
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 5))
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 10, 0))
    actions.sign(order, acting_user=people["handler_zhao"], at=at(2023, 7, 3, 11, 0))
    actions.reply(order, acting_user=people["handler_zhao"], public_reply="已处理", solved=True,
                  evidence=[clean(name="现场.jpg")], evidence_public=True, at=at(2023, 7, 4, 9, 0))
    intake, evidence = Attachment.objects.filter(order=order).order_by("id")
    zhao, wang = as_client(people["handler_zhao"]), as_client(people["dispatcher_wang"])
    assert zhao.get(f"/attachments/{intake.pk}/").status_code == 404
    assert zhao.get(f"/attachments/{evidence.pk}/").status_code == 200
    page = zhao.get(f"/orders/{order.number}/").content.decode()
    assert f"/attachments/{evidence.pk}/" in page and f"/attachments/{intake.pk}/" not in page
    assert wang.get(f"/attachments/{intake.pk}/").status_code == 200
    actions.approve_reply(order, acting_user=people["dispatcher_wang"], at=at(2023, 7, 4, 10, 0))
    from hotline.portal.public import public_evidence

    order.refresh_from_db()
    assert public_evidence(order) == {}  # never in a public output


def test_intake_refuses_a_hostile_file_and_registers_nothing(people, unit, store):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hotline.catalog.models import AppealType
    from hotline.workorders.models import WorkOrder

    li = as_client(people["operator_li"])
    form = {"caller_phone": "13912345678", "source": "phone", "town": unit("杨楼镇").pk, "title": "井盖丢失",
            "appeal_type": AppealType.objects.get(code="problem").pk, "urgency": "normal",
            "content": "村口井盖丢失", "disposition": "submit_for_dispatch"}
    page = li.post("/intake/", {**form, "attachments": [SimpleUploadedFile("井盖.jpg", EXE)]}).content.decode()
    assert "可执行程序" in page and not WorkOrder.objects.exists() and store() == []
    response = li.post("/intake/", {**form, "attachments": [SimpleUploadedFile("井盖.jpg", jpeg())]})
    assert response.status_code == 302 and WorkOrder.objects.get().attachments.count() == 1 and len(store()) == 2


def portal_submission(unit, **extra):
    from hotline.catalog.models import AppealType, Category

    category = Category.objects.get(full_name="农村管理—人居环境")
    return {"caller_name": "张三丰", "caller_phone": "13812341234", "town": unit("杨楼镇").pk, "address": "",
            "appeal_type": AppealType.objects.get(code="problem").pk, "category_group": category.parent_id,
            "category": category.pk, "title": "井盖丢失", "content": "村口井盖丢失，夜间危险。", **extra}


@pytest.mark.parametrize("photos, words", [
    ([("a.jpg", jpeg() + zip_bytes({"x.html": "<script></script>"}))], "夹带了其他内容"),
    ([("bomb.png", png_declaring(100_000, 100_000))], "图片尺寸"),
    ([("photo.jpg", EXE)], "可执行程序"),
    ([("logo.svg", SVG)], "SVG"),
    ([("依据.pdf", pdf())], "只能上传JPG、PNG、WebP 图片"),
    ([(f"{i}.jpg", jpeg()) for i in range(10)], "一次最多上传 9 个附件"),
])
def test_the_portal_refuses_hostile_photos_and_registers_nothing(ruzhou, unit, store, photos, words):
    from django.core.cache import caches
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hotline.workorders.models import WorkOrder

    caches["shared"].clear()
    response = Client().post("/portal/submit/", portal_submission(
        unit, photos=[SimpleUploadedFile(name, data) for name, data in photos]))
    assert response.status_code == 200 and words in response.content.decode()
    assert not WorkOrder.objects.exists() and store() == []


def test_the_portal_refuses_an_oversize_photo(ruzhou, unit, store, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hotline.workorders.models import WorkOrder

    settings.HOTLINE_ATTACHMENTS = {**settings.HOTLINE_ATTACHMENTS, "MAX_MB": 1}
    big = jpeg((2000, 2000)) + b"\x00" * (1024 * 1024)
    response = Client().post("/portal/submit/", portal_submission(unit, photos=[SimpleUploadedFile("大.jpg", big)]))
    assert "超过 1 MB" in response.content.decode() and not WorkOrder.objects.exists() and store() == []


def test_the_citizen_sees_public_evidence_of_the_approved_reply_only(people, unit, store):
    from django.core.cache import caches
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hotline.workorders import actions
    from hotline.workorders.models import Attachment, WorkOrder

    caches["shared"].clear()
    citizen = Client()
    response = citizen.post("/portal/submit/", portal_submission(
        unit, photos=[SimpleUploadedFile("IMG_0001.JPG", jpeg((800, 600), exif=gps_exif()))]))
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    photo = order.attachments.get()
    assert photo.kind == "photo" and photo.uploaded_by is None and photo.uploader_role == "system"
    wang, zhao = people["dispatcher_wang"], people["handler_zhao"]
    actions.submit_for_dispatch(order, acting_user=wang)
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"))
    actions.sign(order, acting_user=zhao)
    actions.reply(order, acting_user=zhao, public_reply="初步处理", solved=False,
                  evidence=[clean(name="初稿.jpg")], evidence_public=True)
    actions.send_back(order, acting_user=wang, note="请补充照片")
    actions.reply(order, acting_user=zhao, public_reply="已安装新井盖", solved=True,
                  evidence=[clean(name="新井盖.jpg"), clean(name="内部.jpg")], evidence_public=True)
    internal = Attachment.objects.get(name="内部.jpg")
    Attachment.objects.filter(pk=internal.pk).update(public=False)  # as if added without the public tick
    page = citizen.get(f"/portal/track/{order.number}/").content.decode()
    assert "/files/" not in page and "您提交了 1 张现场照片" in page  # not approved yet
    actions.approve_reply(order, acting_user=wang)
    page = citizen.get(f"/portal/track/{order.number}/").content.decode()
    shown = Attachment.objects.get(name="新井盖.jpg")
    assert f"/files/{shown.pk}/thumb/" in page
    for hidden in ("初稿.jpg", "内部.jpg"):
        assert f"/files/{Attachment.objects.get(name=hidden).pk}/" not in page
    assert citizen.get(f"/portal/track/{order.number}/files/{shown.pk}/").status_code == 200
    assert citizen.get(f"/portal/track/{order.number}/files/{internal.pk}/").status_code == 404
    assert citizen.get(f"/portal/track/{order.number}/files/{photo.pk}/").status_code == 404
    assert Client().get(f"/portal/track/{order.number}/files/{shown.pk}/").status_code == 404  # not proved


# ---------------------------------------------------------------------------------------------
# The optional virus scan, against a real clamd (Debian's clamav-daemon) with a signature of our own

CLAMD = "/usr/sbin/clamd"


@pytest.fixture(scope="module")
def clamd_socket(tmp_path_factory):
    """A clamd on a unix socket, its database one MD5 signature for ``infected_pdf()`` (no download
    of the public signatures needed); stopped after the module."""
    import hashlib
    import os
    import subprocess
    import time

    root = tmp_path_factory.mktemp("clamd")
    (root / "db").mkdir()
    sample = infected_pdf()
    (root / "db" / "hotline.hdb").write_text(f"{hashlib.md5(sample).hexdigest()}:{len(sample)}:Hotline.Test.Pdf\n")
    sock = root / "clamd.sock"
    (root / "clamd.conf").write_text(f"LocalSocket {sock}\nDatabaseDirectory {root / 'db'}\nForeground yes\n"
                                     f"LogFile {root / 'clamd.log'}\nTemporaryDirectory {root}\n")
    proc = subprocess.Popen([CLAMD, "-c", str(root / "clamd.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(300):
        if os.path.exists(sock) or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert os.path.exists(sock), (root / "clamd.log").read_text() if (root / "clamd.log").exists() else "no log"
    yield str(sock)
    proc.terminate()
    proc.wait(timeout=10)


def infected_pdf() -> bytes:
    return pdf(b"/Title(HOTLINE-CLAMD-TEST)")


@pytest.mark.skipif(not __import__("os").path.exists(CLAMD), reason="clamav-daemon not installed")
def test_clamd_refuses_a_file_it_knows_and_passes_a_clean_one(clamd_socket, settings):
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hotline.lib import clamd
    from hotline.lib.forms import AttachmentsField

    assert clamd.scan(infected_pdf(), clamd_socket) == "Hotline.Test.Pdf.UNOFFICIAL"
    assert clamd.scan(pdf() * 1, clamd_socket) is None
    assert clamd.scan(b"x" * (200 * 1024), clamd_socket) is None  # several INSTREAM chunks
    settings.HOTLINE_ATTACHMENTS = {**settings.HOTLINE_ATTACHMENTS, "CLAMD": clamd_socket}
    field = AttachmentsField()
    with pytest.raises(ValidationError) as refused:
        field.clean([SimpleUploadedFile("依据.pdf", infected_pdf())])
    assert "含有病毒（Hotline.Test.Pdf.UNOFFICIAL）" in str(refused.value)
    assert [f.name for f in field.clean([SimpleUploadedFile("依据.pdf", pdf())])] == ["依据.pdf"]
    settings.HOTLINE_ATTACHMENTS = {**settings.HOTLINE_ATTACHMENTS, "CLAMD": clamd_socket + ".gone"}
    with pytest.raises(ValidationError) as down:  # clamd down: refused, never let through unscanned
        field.clean([SimpleUploadedFile("依据.pdf", pdf())])
    assert "病毒扫描服务暂不可用" in str(down.value)


def test_console_forms_take_files_and_refuse_hostile_ones_changing_nothing(people, unit, new_order, store):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hotline.workorders.models import Attachment, WorkOrder

    order = dispatched(people, unit, new_order)
    zhao, zhou = as_client(people["handler_zhao"]), as_client(people["supervisor_zhou"])
    url = f"/orders/{order.number}/act/reply/"
    reply = {"public_reply": "已更换井盖", "solved": "1", "evidence_public": "on"}
    page = zhao.post(url, {**reply, "evidence": [SimpleUploadedFile("现场.jpg", jpeg() + b"<script>x</script>"),
                                                 SimpleUploadedFile("logo.svg", SVG)]}).content.decode()
    assert "夹带了其他内容" in page and "SVG" in page  # each refused file named with its reason
    assert WorkOrder.objects.get(pk=order.pk).status == "handling" and store() == []
    response = zhao.post(url, {**reply, "evidence": [SimpleUploadedFile("现场.jpg", jpeg((300, 200)))]})
    assert response.status_code == 302 and WorkOrder.objects.get(pk=order.pk).status == "replied"
    evidence = Attachment.objects.get(order=order)
    assert evidence.kind == "evidence" and evidence.public and evidence.event.action == "reply"
    response = zhou.post(f"/orders/{order.number}/act/supervise/", {
        "notice": "请于两日内反馈", "respond_within_days": "2",
        "documents": [SimpleUploadedFile("督办通知.pdf", pdf())]})
    assert response.status_code == 302
    notice = Attachment.objects.get(order=order, kind="supervision")
    assert notice.reminder.kind == "supervision" and notice.uploaded_by == people["supervisor_zhou"]
    assert len(store()) == 3  # the photo, its thumbnail, the PDF
    assert "督办材料" in zhao.get(f"/orders/{order.number}/").content.decode()


def test_the_sweep_deletes_files_no_row_refers_to(people, unit, new_order, store, tmp_path):
    import io as _io
    import os
    import time

    from django.core.management import call_command

    order = new_order(attachments=[clean()])
    kept = sorted(store())
    stray = tmp_path / "2023" / "07" / "0123abcd.jpg"
    stray.write_bytes(jpeg())
    fresh = tmp_path / "2023" / "07" / "fresh.jpg"
    fresh.write_bytes(jpeg())
    old = time.time() - 3 * 86400
    for path in [stray, *(tmp_path / name for name in kept)]:
        os.utime(path, (old, old))
    out = _io.StringIO()
    call_command("sweep_attachments", "--dry-run", stdout=out)
    assert "2023/07/0123abcd.jpg" in out.getvalue() and "发现 1 个" in out.getvalue() and stray.exists()
    call_command("sweep_attachments", stdout=_io.StringIO())
    assert not stray.exists() and fresh.exists()  # a file younger than a day may belong to a commit in flight
    assert sorted(set(store()) - {"2023/07/fresh.jpg"}) == kept and order.attachments.count() == 1


# ---------------------------------------------------------------------------------------------
# Every upload path of the console refuses every kind of hostile file, and stores nothing

HOSTILE = {  # name -> (files to send, words the refusal must say, settings changed for the case)
    "polyglot": ([("现场.jpg", jpeg() + zip_bytes({"x.html": "<script>alert(1)</script>"}))], "夹带了其他内容", {}),
    "image bomb": ([("bomb.png", png_declaring(100_000, 100_000))], "图片尺寸", {}),
    "renamed executable": ([("现场照片.jpg", EXE)], "可执行程序", {}),
    "svg with script": ([("logo.svg", SVG)], "SVG", {}),
    "oversize": ([("大.jpg", jpeg((2000, 2000)) + b"\x00" * (1024 * 1024))], "超过 1 MB", {"MAX_MB": 1}),
    "overcount per upload": ([(f"{i}.jpg", jpeg()) for i in range(10)], "一次最多上传 9 个附件", {}),
    "overcount per order": ([(f"{i}.jpg", jpeg()) for i in range(3)], "每件工单最多 2 个附件", {"MAX_PER_ORDER": 2}),
}

# path -> (who, the form's URL action or "intake", its file field, the rest of the form)
CONSOLE_PATHS = {
    "intake": ("operator_li", "intake", "attachments", {}),
    "reply evidence": ("handler_zhao", "reply", "evidence",
                       {"public_reply": "已更换井盖", "solved": "1", "evidence_public": "on"}),
    "return basis": ("handler_zhao", "request_return", "basis_files", {"reason": "不属本镇职责", "basis": "职责清单"}),
    "extension basis": ("handler_zhao", "request_extension", "basis_files", {"reason": "需协调供电公司"}),
    "suspension basis": ("handler_zhao", "request_suspension", "basis_files", {"reason": "需列入明年道路改造计划"}),
    "supervision documents": ("supervisor_zhou", "supervise", "documents",
                              {"notice": "请于两日内反馈", "respond_within_days": "2"}),
}


@pytest.mark.parametrize("path", CONSOLE_PATHS)
@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_console_upload_path_refuses_hostile_files_storing_nothing(people, unit, store, settings, path,
                                                                         hostile):
    """The file is refused in Chinese on the form, and nothing changed: no order registered, no
    event, request or reminder, no Attachment row, no file (nor thumbnail) in storage."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from hotline.catalog.models import AppealType
    from hotline.lib import clock
    from hotline.workorders import actions
    from hotline.workorders.models import Attachment, Event, Reminder, Request, WorkOrder

    sent, words, limits = HOSTILE[hostile]
    settings.HOTLINE_ATTACHMENTS = {**settings.HOTLINE_ATTACHMENTS, **limits}
    who, action, field, form = CONSOLE_PATHS[path]
    uploads = [SimpleUploadedFile(name, data) for name, data in sent]
    if action == "intake":
        form = {"caller_phone": "13912345678", "source": "phone", "town": unit("杨楼镇").pk, "title": "井盖丢失",
                "appeal_type": AppealType.objects.get(code="problem").pk, "urgency": "normal",
                "content": "村口井盖丢失", "disposition": "submit_for_dispatch"}
        response = as_client(people[who]).post("/intake/", {**form, field: uploads})
        assert response.status_code == 200 and words in response.content.decode()
        assert not WorkOrder.objects.exists() and not Attachment.objects.exists() and store() == []
        return
    # An order 杨楼镇 is handling now (not overdue, so 申请延期 is offered).
    now = timezone.now()
    order = actions.register_order(acting_user=people["operator_li"], at=now - dt.timedelta(hours=3),
                                   title="村口井盖丢失", content="村口井盖丢失，夜间危险。", town=unit("杨楼镇"),
                                   appeal_type=AppealType.objects.get(code="problem"), caller_phone="13812341234")
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=now - dt.timedelta(hours=2))
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                     at=now - dt.timedelta(hours=2))
    actions.sign(order, acting_user=people["handler_zhao"], at=now - dt.timedelta(hours=1))
    if action == "request_extension":
        deadline = clock.local(WorkOrder.objects.get(pk=order.pk).handle_deadline + dt.timedelta(days=5))
        form = {**form, "new_deadline": deadline.strftime("%Y-%m-%dT%H:%M")}
    events = Event.objects.filter(order=order).count()
    response = as_client(people[who]).post(f"/orders/{order.number}/act/{action}/", {**form, field: uploads})
    assert response.status_code == 200 and words in response.content.decode()
    assert WorkOrder.objects.get(pk=order.pk).status == "handling"
    assert Event.objects.filter(order=order).count() == events
    assert not Request.objects.filter(order=order).exists() and not Reminder.objects.filter(order=order).exists()
    assert not Attachment.objects.exists() and store() == []
    # The same form with a good photo goes through: the refusal above was the file's, not the form's.
    response = as_client(people[who]).post(f"/orders/{order.number}/act/{action}/",
                                           {**form, field: [SimpleUploadedFile("现场.jpg", jpeg())]})
    assert response.status_code == 302 and Attachment.objects.filter(order=order).count() == 1 and len(store()) == 2


def test_the_api_takes_no_files_and_stores_none(people, unit, store):
    """The JSON API and Open311 carry no attachments: a file sent to them never reaches storage."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hotline.workorders.models import Attachment, WorkOrder

    li = as_client(people["operator_li"])
    response = li.post("/api/orders/", {"title": "井盖丢失", "content": "村口井盖丢失",
                                        "attachments": SimpleUploadedFile("现场照片.jpg", EXE)})
    assert response.status_code == 400 and response.json()["error"].startswith("请求体")  # refused, in Chinese
    assert not WorkOrder.objects.exists() and not Attachment.objects.exists() and store() == []
