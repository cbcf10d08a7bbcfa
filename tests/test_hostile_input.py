"""Hostile input at every machine entry: the upstream push, the JSON API, Open311 (JSON and XML),
URL paths and multipart bodies. Whatever arrives, the answer is a 2xx or a 4xx with a Chinese
message — never a 5xx — and what is answered still opens (JSON parses, XML parses).

The story: the prefecture platform's adapter goes wrong and pushes garbage signed with its real
key; a partner app's developer fuzzes Open311; operator 李's browser extension posts nonsense to
the API. The impossible values the probe found (2023-02-30, 25:00, +99:00, year 1, NUL, JSON
nested 1,000 and 5,000 deep, "false" for a boolean) are pinned as examples; Hypothesis adds the
rest. Runs on SQLite and PostgreSQL (PostgreSQL is where NUL used to fail).
"""

import json
import string
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hotline.directory.models import UpstreamPlatform
from hotline.intake import upstream
from hotline.intake.models import UpstreamCredential
from hotline.open311.models import Open311Client
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SECRET = "pds-shared-secret-0123456789abcdef0123456789"
BAD_TIMES = ["2023-02-30", "2023-07-03T25:00:00+08:00", "2023-07-03T09:00:00+99:00", "0001-01-01T00:00:00",
             "9999-12-31T23:59:59-14:00", "2023-07-03T09:00:00+14:01", "1e999", "-1", "下周一"]
# Values that broke something once, or look like what breaks parsers; plus anything at all.
NASTY = BAD_TIMES + ["", " ", "\x00", "a\x00b", "\x01\x07\x1b", "false", "true", "否", "NaN", "Infinity",
                     "9" * 400, "%00", "%s%n", "<x>&amp;</x>", "]]>", "'; DROP TABLE workorders_workorder; --",
                     "١٢٣", "２０２３年７月３日", "13800000000" * 5, "\u202e\ufeff", "杨楼镇" * 100]
hostile_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=40),
                         st.text(alphabet=string.digits + "-:/.T+Z 年月日", max_size=30))
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63), st.floats(),
                        hostile_text)
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def signed_push(client, raw: bytes):
    ts = str(int(timezone.now().timestamp()))
    return client.post("/intake/upstream/pds/orders", raw, content_type="application/json",
                       headers={"X-Hotline-Timestamp": ts, "X-Hotline-Signature": upstream.sign(SECRET, ts, raw)})


def push_body(**overrides) -> dict:
    return {"upstream_number": "PDS20230703-0001", "title": "杨楼镇村内道路破损", "content": "主路破损，请维修。",
            "appeal_type": "问题处理类", "category": "农村管理—人居环境", "town": "杨楼镇",
            "upstream_deadline": "2030-07-10T18:00:00+08:00", **overrides}


@pytest.fixture
def pds(people):
    platform = UpstreamPlatform.objects.get(code="pds")
    UpstreamCredential.objects.create(platform=platform, secret=SECRET)
    return platform


def answered_json(response) -> dict | list:
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


# ---------------------------------------------------------------------------------------------
# The upstream push (signed with the platform's real key)


PUSH_FIELDS = ["upstream_number", "title", "content", "appeal_type", "category", "town", "address", "caller_name",
               "caller_phone", "confidential", "urgency", "upstream_deadline", "received_at"]


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(PUSH_FIELDS), json_value, max_size=5))
@example(fields={"upstream_deadline": "2023-02-30"})
@example(fields={"received_at": "2023-07-03T09:00:00+99:00"})
@example(fields={"upstream_deadline": "0001-01-01T00:00:00+14:00"})
@example(fields={"confidential": "maybe"})
@example(fields={"caller_name": "张" * 41})
def test_any_signed_push_gets_an_answer_not_a_server_error(client, pds, fields):
    response = signed_push(client, json.dumps(push_body(**fields), ensure_ascii=False).encode())
    body = answered_json(response)
    assert response.status_code in (200, 201, 400, 409)
    if response.status_code == 400:
        assert body["error"]


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_signed_body_gets_an_answer(client, pds, raw):
    response = signed_push(client, raw)
    assert answered_json(response)["error"] and response.status_code in (400, 413)


@pytest.mark.parametrize("raw, words", [
    (nested(5000), "嵌套过深"),
    (json.dumps(push_body(title="路\u0000灯")).encode(), "NUL"),
    (json.dumps(push_body(title="路\u0000灯"), ensure_ascii=False).encode(), "NUL"),
    (b'{"upstream_number": "x", "title": NaN}', "NaN"),
    (b'{"title": "\\ud800"}', "Unicode"),
])
def test_the_probes_findings_on_the_push_are_400s(client, pds, raw, words):
    response = signed_push(client, raw)
    assert response.status_code == 400 and words in response.json()["error"]
    assert WorkOrder.objects.count() == 0


def test_the_push_reads_false_as_false(client, pds):
    assert signed_push(client, json.dumps(push_body(confidential="false")).encode()).status_code == 201
    assert WorkOrder.objects.get().confidential is False


# ---------------------------------------------------------------------------------------------
# The staff JSON API


API_FIELDS = ["title", "content", "appeal_type", "category", "town", "urgency", "source", "caller_name",
              "caller_phone", "address", "confidential", "note"]


@pytest.fixture
def li(client, people):
    client.force_login(people["operator_li"])
    return client


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(API_FIELDS), json_value, max_size=6))
@example(fields={"title": "路灯不亮", "content": "路灯不亮", "category": 2**70})
@example(fields={"title": "路灯不亮", "content": "路灯不亮", "caller_phone": "1" * 31})
@example(fields={"title": "路灯不亮", "content": "路灯不亮", "town": True})
def test_any_api_body_gets_an_answer_not_a_server_error(li, fields):
    response = li.post("/api/orders/", fields, content_type="application/json")
    body = answered_json(response)
    assert response.status_code in (201, 400)
    assert body["number"] if response.status_code == 201 else body["error"]


@pytest.mark.parametrize("raw, words", [
    (nested(1000), "嵌套过深"),
    (b'{"title": "a\\u0000", "content": "b"}', "NUL"),
    (b"\xff", "UTF-8"),
    (b"[1, 2]", "JSON 对象"),
    (b'{"title": "t", "content": "c", "confidential": "maybe"}', "confidential"),
])
def test_the_probes_findings_on_the_api_are_400s(li, raw, words):
    response = li.post("/api/orders/", raw, content_type="application/json")
    assert response.status_code == 400 and words in response.json()["error"]
    assert WorkOrder.objects.count() == 0


@pytest.mark.parametrize("value, stored", [("false", False), ("0", False), ("否", False), (False, False),
                                           ("true", True), ("是", True), (1, True)])
def test_the_api_stores_false_as_false(li, value, stored):
    response = li.post("/api/orders/", {"title": "路灯不亮", "content": "某村路灯不亮", "confidential": value},
                       content_type="application/json")
    assert response.status_code == 201
    assert WorkOrder.objects.get(number=response.json()["number"]).confidential is stored


# ---------------------------------------------------------------------------------------------
# Open311, JSON and XML


@pytest.fixture
def open311_data(new_order):
    new_order()
    return Open311Client.objects.create(name="汝州通")


def parsed_open311(response, fmt: str):
    assert response.status_code < 500, response.content[:300]
    if response["Content-Type"].startswith("text/plain"):  # refused before any view (NUL)
        assert response.status_code == 400 and "NUL" in response.content.decode()
        return None
    if fmt == "json":
        return json.loads(response.content)
    return ET.fromstring(response.content)  # raises if the document is not well-formed


OPEN311_FILTERS = ["start_date", "end_date", "status", "service_code", "service_request_id"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@FUZZ
@given(params=st.dictionaries(st.sampled_from(OPEN311_FILTERS), hostile_text, max_size=4))
@example(params={"start_date": "2023-02-30T00:00:00+08:00"})
@example(params={"start_date": "2023-07-01T25:00:00+08:00"})
@example(params={"end_date": "2023-07-01T00:00:00+99:00"})
@example(params={"start_date": "0001-01-01T00:00:00"})
@example(params={"service_code": ",".join(["x"] * 5000)})
@example(params={"service_request_id": "\x01"})
def test_open311_lists_answer_any_filter_and_stay_readable(client, open311_data, fmt, params):
    response = client.get(f"/open311/v2/requests.{fmt}", params)
    doc = parsed_open311(response, fmt)
    assert response.status_code in (200, 400)
    if response.status_code == 400 and doc is not None:
        description = doc[0]["description"] if fmt == "json" else doc.findtext("error/description")
        assert description


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("name, value, words", [
    ("start_date", "2023-02-30T00:00:00+08:00", "2023 年 2 月没有 30 日"),
    ("start_date", "2023-07-01T25:00:00+08:00", "小时须为 0–23"),
    ("end_date", "2023-07-01T00:00:00+99:00", "时区偏移"),
    ("start_date", "0001-01-01T00:00:00", "年份 1 超出范围"),
    ("end_date", "2023-07-01T00:00:00\x01", "不是有效的时间"),
])
def test_open311_date_errors_name_the_parameter(client, open311_data, fmt, name, value, words):
    response = client.get(f"/open311/v2/requests.{fmt}", {name: value})
    doc = parsed_open311(response, fmt)
    description = doc[0]["description"] if fmt == "json" else doc.findtext("error/description")
    assert response.status_code == 400 and description.startswith(f"{name}：") and words in description


def test_open311_reads_an_unencoded_plus_in_an_offset(client, open311_data):
    # "+08:00" typed into a URL arrives as " 08:00".
    response = client.get("/open311/v2/requests.json?start_date=2023-07-01T00:00:00+08:00")
    assert response.status_code == 200 and len(response.json()) == 1


OPEN311_POST = ["service_code", "description", "lat", "long", "address_string", "first_name", "last_name", "phone",
                "attribute[appeal_type]", "email"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@FUZZ
@given(fields=st.dictionaries(st.sampled_from(OPEN311_POST), hostile_text, max_size=6))
@example(fields={"description": "路灯不亮", "lat": "1e999", "long": "112.8"})
@example(fields={"description": "路灯不亮", "lat": "NaN", "long": "NaN"})
def test_open311_creation_answers_any_form(client, open311_data, fmt, fields):
    code = WorkOrder.objects.first().category.code
    data = {"api_key": open311_data.key, "service_code": code, "address_string": "汝州市", **fields}
    response = client.post(f"/open311/v2/requests.{fmt}", data)
    parsed_open311(response, fmt)
    assert response.status_code in (201, 400, 404)


# ---------------------------------------------------------------------------------------------
# NUL in URL paths, query strings and multipart bodies: refused before any view


@pytest.mark.parametrize("path", [
    "/open311/v2/requests/RZ%00.json", "/open311/v2/services/01%00.xml", "/api/orders/%00/",
    "/orders/RZ2307%00/", "/portal/track/RZ%00/", "/intake/upstream/pds%00/orders",
])
def test_nul_in_a_path_segment_is_a_400(people, path):
    staff = Client()
    staff.force_login(people["dispatcher_wang"])
    for client in (Client(), staff):
        response = client.get(path)
        assert response.status_code == 400 and "NUL" in response.content.decode(), path


def test_nul_in_a_multipart_body_is_a_400(client, people):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(people["dispatcher_wang"])
    field = client.post("/intake/import/", {"kind": "orders\x00", "file": SimpleUploadedFile("a.xlsx", b"PK")})
    assert field.status_code == 400 and "NUL" in field.content.decode()
    # Django's parser drops unprintable characters from file names itself: the name arrives clean.
    name = client.post("/intake/import/", {"kind": "orders", "file": SimpleUploadedFile("a\x00.xlsx", b"PK")})
    assert name.status_code == 400 and "不是有效的 Excel" in name.content.decode()


def test_a_broken_multipart_body_is_a_400(client, people):
    client.force_login(people["dispatcher_wang"])
    response = client.generic("POST", "/intake/import/", b"--x\r\nnonsense",
                              content_type="multipart/form-data")  # no boundary
    assert response.status_code == 400
