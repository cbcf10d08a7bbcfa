"""Open311 GeoReport v2 and the OpenAPI document.

A partner app (“汝州通”) holds an Open311 key and reports problems; dispatcher 王 finds them in the
queue like any other order. Anyone may list services and requests, and learns no caller's name,
phone or street address.
"""

import json
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import at
from django.urls import resolve

from hotline.catalog.models import Category
from hotline.open311.models import Open311Client
from hotline.open311.openapi import DOCUMENT
from hotline.workorders import actions
from hotline.workorders.models import Event, WorkOrder

pytestmark = pytest.mark.django_db

JULY = {"start_date": "2023-07-01T00:00:00+08:00", "end_date": "2023-07-31T23:59:59+08:00"}


@pytest.fixture
def app_client(ruzhou):
    return Open311Client.objects.create(name="汝州通")


def wangdian():
    return Category.objects.get(full_name="政务服务—网点服务")


def new_request(client, key, **overrides):
    data = {"api_key": key, "service_code": wangdian().code, "description": "政务服务中心三楼窗口排队两小时无人办理",
            "lat": "34.167123", "long": "112.845678", "address_string": "汝州市政务服务中心",
            "first_name": "三丰", "last_name": "张", "phone": "13812341234",
            "media_url": "http://example.invalid/a.jpg"}
    data.update(overrides)
    return client.post("/open311/v2/requests.json", data)


def errors_json(response, code):
    assert response.status_code == code and response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list) and body[0]["code"] == code and body[0]["description"]
    return body[0]["description"]


def test_services_list_the_level_two_categories(client, ruzhou):
    services = client.get("/open311/v2/services.json").json()
    wd = next(s for s in services if s["service_code"] == wangdian().code)
    assert (wd["service_name"], wd["group"], wd["description"]) == ("网点服务", "政务服务", "政务服务—网点服务")
    assert all(s["group"] for s in services) and len(services) == Category.objects.filter(level=2).count()
    root = ET.fromstring(client.get("/open311/v2/services.xml").content)
    assert root.tag == "services" and len(root) == len(services)
    xml_wd = next(s for s in root.findall("service") if s.findtext("service_code") == wd["service_code"])
    assert xml_wd.findtext("group") == "政务服务" and xml_wd.findtext("metadata") == "true"


def test_service_definition(client, ruzhou):
    code = wangdian().code
    definition = client.get(f"/open311/v2/services/{code}.json").json()
    assert definition["service_code"] == code
    assert {v["key"] for v in definition["attributes"][0]["values"]} >= {"consult", "problem"}
    root = ET.fromstring(client.get(f"/open311/v2/services/{code}.xml").content)
    assert root.tag == "service_definition" and root.find("attributes/attribute/values/value/key") is not None
    assert "未知的服务代码" in errors_json(client.get("/open311/v2/services/XX99.json"), 404)


def test_creating_needs_a_valid_key(client, app_client):
    assert "api_key" in errors_json(new_request(client, ""), 403)
    assert "api_key" in errors_json(new_request(client, "not-a-key"), 403)
    app_client.active = False
    app_client.save()
    errors_json(new_request(client, app_client.key), 403)
    response = client.post("/open311/v2/requests.xml", {"service_code": wangdian().code})
    root = ET.fromstring(response.content)
    assert response.status_code == 403 and root.tag == "errors"
    assert root.findtext("error/code") == "403" and root.findtext("error/description")
    assert WorkOrder.objects.count() == 0


@pytest.mark.parametrize("override, message", [
    ({"service_code": ""}, "缺少 service_code"),
    ({"description": " "}, "缺少 description"),
    ({"lat": "north"}, "lat：“north”不是有效的数字"),
    ({"lat": "91"}, "lat：超出范围"),
    ({"long": ""}, "lat 和 long 须同时提供"),
    ({"lat": "", "long": "", "address_string": ""}, "须提供位置"),
    ({"attribute[appeal_type]": "nonsense"}, "未知的诉求类型"),
    ({"phone": "abc"}, None),  # no digits left: registered without a phone
])
def test_bad_requests_are_refused_with_the_error_format(client, app_client, override, message):
    response = new_request(client, app_client.key, **override)
    if message is None:
        assert response.status_code == 201
        return
    assert message in errors_json(response, 400)
    assert WorkOrder.objects.count() == 0 and Event.objects.count() == 0


def test_a_created_request_reaches_the_dispatcher(client, people, app_client):
    response = new_request(client, app_client.key)
    assert response.status_code == 201
    number = response.json()[0]["service_request_id"]
    order = WorkOrder.objects.get(number=number)
    assert (order.source, order.registered_by, order.status) == ("app", None, "received")
    assert (order.caller_name, order.caller_phone, order.category) == ("张三丰", "13812341234", wangdian())
    assert order.address == "汝州市政务服务中心" and str(order.latitude) == "34.167123"
    assert "汝州通" in Event.objects.get(order=order, action="register").note
    wang = people["dispatcher_wang"]
    assert WorkOrder.objects.visible_to(wang).filter(pk=order.pk).exists()
    client.force_login(wang)
    assert client.get(f"/api/orders/{number}/").json()["number"] == number
    # XML answers the same way.
    xml_response = client.post("/open311/v2/requests.xml", {**_form(app_client.key), "description": "窗口人员态度差"})
    root = ET.fromstring(xml_response.content)
    assert xml_response.status_code == 201 and root.tag == "service_requests"
    assert WorkOrder.objects.filter(number=root.findtext("request/service_request_id")).exists()


def _form(key):
    return {"api_key": key, "service_code": wangdian().code, "address_string": "汝州市政务服务中心"}


@pytest.fixture
def july(people, unit, new_order):
    """Two July orders: 张三丰's road in 杨楼镇 (dispatched, closed) and 李四's confidential report."""
    li, wang, zhao = people["operator_li"], people["dispatcher_wang"], people["handler_zhao"]
    road = new_order(content="杨楼镇某村三组张三丰家门口道路破损，请回电13812341234", address="某村三组12号",
                     latitude="34.167123", longitude="112.845678")
    actions.submit_for_dispatch(road, acting_user=li, at=at(2023, 7, 3, 9, 5))
    actions.dispatch(road, acting_user=wang, lead_unit=unit("杨楼镇"), at=at(2023, 7, 3, 10, 0))
    actions.sign(road, acting_user=zhao, at=at(2023, 7, 3, 11, 0))
    actions.reply(road, acting_user=zhao, public_reply="已修复", solved=True, at=at(2023, 7, 4, 10, 0))
    actions.approve_reply(road, acting_user=wang, at=at(2023, 7, 4, 11, 0))
    actions.record_callback(road, acting_user=li, satisfaction="satisfied", solved=True, at=at(2023, 7, 5, 9, 0))
    report = new_order(caller_name="李四", caller_phone="13900001111", confidential=True,
                       title="举报某厂夜间偷排", content="李四举报：某厂夜间偷排污水", category=wangdian(),
                       at=at(2023, 7, 10, 9, 0))
    return {"road": road, "report": report}


def test_requests_list_public_fields_only(client, july):
    response = client.get("/open311/v2/requests.json", JULY)
    body = response.content.decode()
    for secret in ("张三丰", "13812341234", "李四", "13900001111", "某村三组12号", "偷排", "34.167123"):
        assert secret not in body, secret
    requests = {r["service_request_id"]: r for r in response.json()}
    road, report = requests[july["road"].number], requests[july["report"].number]
    assert road["status"] == "closed" and road["service_name"] == "农村管理—人居环境"
    assert road["agency_responsible"] == "杨楼镇人民政府" and road["address"] == "杨楼镇"
    assert road["description"] == "村内道路破损坑洼" and road["lat"] == 34.167 and road["long"] == 112.846
    assert road["requested_datetime"] == "2023-07-03T09:00:00+08:00"
    assert report["status"] == "open" and report["description"] == "（保密）" and report["lat"] is None
    root = ET.fromstring(client.get("/open311/v2/requests.xml", JULY).content)
    assert root.tag == "service_requests"
    assert {r.findtext("service_request_id") for r in root.findall("request")} == set(requests)
    assert "13812341234" not in ET.tostring(root, encoding="unicode")


def test_request_filters(client, july):
    def numbers(**params):
        response = client.get("/open311/v2/requests.json", {**JULY, **params})
        assert response.status_code == 200, response.content
        return {r["service_request_id"] for r in response.json()}

    road, report = july["road"].number, july["report"].number
    assert numbers() == {road, report}
    assert numbers(status="open") == {report} and numbers(status="closed") == {road}
    assert numbers(status="open,closed") == {road, report}
    assert numbers(service_code=wangdian().code) == {report}
    assert numbers(end_date="2023-07-05T00:00:00+08:00") == {road}
    assert numbers(start_date="2023-07-05T00:00:00+08:00") == {report}
    assert client.get("/open311/v2/requests.json").json() == []  # default: the last 90 days
    assert numbers(service_request_id=road) == {road}
    assert "status" in errors_json(client.get("/open311/v2/requests.json", {"status": "pending"}), 400)
    assert "start_date" in errors_json(client.get("/open311/v2/requests.json", {"start_date": "yesterday"}), 400)


def test_one_request_in_json_and_xml(client, july):
    number = july["road"].number
    assert client.get(f"/open311/v2/requests/{number}.json").json()[0]["service_request_id"] == number
    root = ET.fromstring(client.get(f"/open311/v2/requests/{number}.xml").content)
    assert root.findtext("request/status") == "closed"
    assert "未找到" in errors_json(client.get("/open311/v2/requests/RZ0000-000000.json"), 404)


# ---------------------------------------------------------------------------------------------
# The OpenAPI document


def deref(schema):
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = DOCUMENT["components"]["schemas"][name]
    return schema


TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict,
         "null": type(None)}


def conforms(value, schema, where="$"):
    """The parts of JSON Schema the document uses: type, required, properties, items, enum."""
    schema = deref(schema)
    types = schema.get("type")
    if types:
        types = [types] if isinstance(types, str) else types
        ok = any(isinstance(value, TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool))
                 for t in types)
        assert ok, f"{where}: {value!r} is not {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in enum"
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"{where}: missing required {name}"
        for name, inner in schema.get("properties", {}).items():
            if name in value:
                conforms(value[name], inner, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            conforms(item, schema["items"], f"{where}[{i}]")


def test_the_openapi_document_is_served(client, db):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.1")
    assert response.json() == json.loads(json.dumps(DOCUMENT))


def test_every_documented_operation_exists_and_answers_as_documented(client, people, app_client, july):
    li = people["operator_li"]
    road = july["road"]
    values = {"key": road.number, "service_code": wangdian().code, "service_request_id": road.number,
              "format": "json"}
    calls = {
        ("/api/orders/", "post", "201"): lambda url: client.post(
            url, json.dumps({"title": "路灯不亮", "content": "某路段路灯不亮", "town": "杨楼镇"}),
            content_type="application/json"),
        ("/api/orders/", "post", "400"): lambda url: client.post(url, "{}", content_type="application/json"),
        ("/api/orders/{key}/", "get", "200"): client.get,
        ("/api/orders/{key}/", "get", "404"): lambda url: client.get(url.replace(road.number, "RZ0000-000000")),
        ("/open311/v2/services.{format}", "get", "200"): client.get,
        ("/open311/v2/services/{service_code}.{format}", "get", "200"): client.get,
        ("/open311/v2/services/{service_code}.{format}", "get", "404"):
            lambda url: client.get(url.replace(wangdian().code, "XX99")),
        ("/open311/v2/requests.{format}", "get", "200"): lambda url: client.get(url, JULY),
        ("/open311/v2/requests.{format}", "get", "400"): lambda url: client.get(url, {"status": "x"}),
        ("/open311/v2/requests.{format}", "post", "201"): lambda url: new_request(client, app_client.key),
        ("/open311/v2/requests.{format}", "post", "403"): lambda url: new_request(client, "bad"),
        ("/open311/v2/requests.{format}", "post", "400"):
            lambda url: new_request(client, app_client.key, description=""),
        ("/open311/v2/requests.{format}", "post", "404"):
            lambda url: new_request(client, app_client.key, service_code="XX99"),
        ("/open311/v2/requests/{service_request_id}.{format}", "get", "200"): client.get,
        ("/open311/v2/requests/{service_request_id}.{format}", "get", "404"):
            lambda url: client.get(url.replace(road.number, "RZ0000-000000")),
    }
    client.force_login(li)
    checked = set()
    for path, operations in DOCUMENT["paths"].items():
        url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
        resolve(url)  # every documented path exists
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                call = calls.get((path, method, status))
                if call is None:
                    continue
                response = call(url)
                assert str(response.status_code) == status, (path, method, status, response.content)
                schema = answer["content"]["application/json"]["schema"]
                conforms(response.json(), schema, f"{method.upper()} {path} {status}")
                checked.add((path, method))
    documented = {(p, m) for p, ops in DOCUMENT["paths"].items() for m in ops}
    assert checked == documented  # every operation was exercised at least once
    assert set(calls) <= {(p, m, s) for p, ops in DOCUMENT["paths"].items() for m, op in ops.items()
                          for s in op["responses"]}


def test_a_title_quoting_the_caller_is_masked(client, new_order):
    order = new_order(title="张三丰反映13812341234路灯不亮")
    described = client.get(f"/open311/v2/requests/{order.number}.json").json()[0]["description"]
    assert described == "张**反映138****1234路灯不亮"
