"""The OpenAPI 3.1 document of the platform's machine interfaces, written by hand.

It describes the staff JSON API (``hotline/workorders/api.py``: session login + CSRF) and the
Open311 GeoReport v2 endpoints. ``tests/test_open311.py`` resolves every path and checks a real
response of each against the required fields documented here, so the two cannot drift apart.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}
FMT = {"name": "format", "in": "path", "required": True, "schema": {"type": "string", "enum": ["json", "xml"]},
       "description": "响应格式：json 或 xml（GeoReport v2 以扩展名区分）"}


def _json(schema_ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def _open311(schema_ref: str, description: str) -> dict:
    return {"description": description, "content": {
        "application/json": {"schema": {"$ref": schema_ref}},
        "text/xml": {"schema": {"$ref": schema_ref}},
    }}


OPEN311_ERRORS = {
    "400": _open311("#/components/schemas/Open311Errors", "参数无效"),
    "403": _open311("#/components/schemas/Open311Errors", "api_key 缺失或无效"),
    "404": _open311("#/components/schemas/Open311Errors", "服务代码或服务请求不存在"),
}

SERVICE_REQUEST_PROPS = {
    "service_request_id": {"type": "string", "description": "工单编号"},
    "status": {"type": "string", "enum": ["open", "closed"]},
    "status_notes": {"type": "string"},
    "service_name": {"type": "string", "description": "热点分类完整名称（一级—二级）"},
    "service_code": {"type": "string"},
    "description": {"type": "string", "description": "诉求内容摘要（手机号已打码，保密工单不公开）"},
    "agency_responsible": {"type": "string", "description": "主办单位"},
    "service_notice": {"type": "string"},
    "requested_datetime": DATETIME,
    "updated_datetime": DATETIME,
    "expected_datetime": NULLABLE_DATETIME,
    "address": {"type": "string", "description": "所在乡镇（街道）；不公开详细地址"},
    "address_id": {"type": "string"},
    "zipcode": {"type": "string"},
    "lat": {"type": ["number", "null"]},
    "long": {"type": ["number", "null"]},
    "media_url": {"type": "string"},
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "12345 民呼必应热线平台接口",
        "version": "1.0.0",
        "description": "工作人员 JSON 接口（登录会话 + CSRF）与 Open311 GeoReport v2 接口。",
    },
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "sessionid",
                        "description": "在 /accounts/login/ 登录；写操作还须在 X-CSRFToken 头中回传 csrftoken"},
        },
        "schemas": {
            "Order": {
                "type": "object",
                "required": ["id", "number", "status", "title", "received_at", "handle_deadline", "overdue_at"],
                "properties": {
                    "id": {"type": "integer"},
                    "number": {"type": "string", "examples": ["RZ2307-000123"]},
                    "status": {"type": "string", "enum": ["received", "awaiting_dispatch", "dispatched", "handling",
                                                          "return_requested", "suspended", "replied",
                                                          "awaiting_callback", "closed", "merged"]},
                    "title": {"type": "string"},
                    "received_at": DATETIME,
                    "handle_deadline": NULLABLE_DATETIME,
                    "overdue_at": NULLABLE_DATETIME,
                },
            },
            "NewOrder": {
                "type": "object",
                "required": ["title", "content"],
                "properties": {
                    "title": {"type": "string", "maxLength": 120},
                    "content": {"type": "string"},
                    "appeal_type": {"type": "string", "description": "诉求类型代码，缺省 problem",
                                    "examples": ["consult", "problem"]},
                    "category": {"type": "string", "description": "热点分类完整名称，如 政务服务—网点服务"},
                    "town": {"type": "string", "description": "乡镇街道简称，如 杨楼镇"},
                    "urgency": {"type": "string", "enum": ["normal", "urgent", "critical"]},
                    "source": {"type": "string", "enum": ["phone", "web", "wechat", "letter", "leader", "app"]},
                    "caller_name": {"type": "string"},
                    "caller_phone": {"type": "string"},
                    "address": {"type": "string"},
                    "confidential": {"type": "boolean"},
                    "note": {"type": "string"},
                },
            },
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Service": {
                "type": "object",
                "required": ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
                "properties": {
                    "service_code": {"type": "string", "description": "二级热点分类编码"},
                    "service_name": {"type": "string"},
                    "description": {"type": "string"},
                    "metadata": {"type": "boolean"},
                    "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
                    "keywords": {"type": "string"},
                    "group": {"type": "string", "description": "一级热点分类"},
                },
            },
            "Services": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}},
            "ServiceDefinition": {
                "type": "object",
                "required": ["service_code", "attributes"],
                "properties": {
                    "service_code": {"type": "string"},
                    "attributes": {"type": "array", "items": {
                        "type": "object",
                        "required": ["variable", "code", "datatype", "required", "order", "description"],
                        "properties": {
                            "variable": {"type": "boolean"}, "code": {"type": "string"},
                            "datatype": {"type": "string"}, "required": {"type": "boolean"},
                            "datatype_description": {"type": "string"}, "order": {"type": "integer"},
                            "description": {"type": "string"},
                            "values": {"type": "array", "items": {
                                "type": "object", "required": ["key", "name"],
                                "properties": {"key": {"type": "string"}, "name": {"type": "string"}}}},
                        },
                    }},
                },
            },
            "ServiceRequest": {
                "type": "object",
                "required": ["service_request_id", "status", "service_name", "service_code", "description",
                             "requested_datetime", "updated_datetime", "address", "lat", "long"],
                "properties": SERVICE_REQUEST_PROPS,
            },
            "ServiceRequests": {"type": "array", "items": {"$ref": "#/components/schemas/ServiceRequest"}},
            "CreatedRequests": {"type": "array", "items": {
                "type": "object", "required": ["service_request_id", "service_notice"],
                "properties": {"service_request_id": {"type": "string"}, "service_notice": {"type": "string"},
                               "account_id": {"type": ["string", "null"]}}}},
            "Open311Errors": {"type": "array", "items": {
                "type": "object", "required": ["code", "description"],
                "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}},
        },
    },
    "paths": {
        "/api/orders/": {
            "post": {
                "summary": "登记工单",
                "operationId": "createOrder",
                "security": [{"session": []}],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewOrder"}}}},
                "responses": {
                    "201": _json("#/components/schemas/Order", "已登记"),
                    "400": _json("#/components/schemas/Error", "输入无效，未写入任何数据"),
                    "401": _json("#/components/schemas/Error", "未登录"),
                },
            },
        },
        "/api/orders/{key}/": {
            "get": {
                "summary": "查看工单（编号或 id）",
                "operationId": "getOrder",
                "security": [{"session": []}],
                "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
                                "description": "工单 id 或工单编号"}],
                "responses": {
                    "200": _json("#/components/schemas/Order", "工单"),
                    "401": _json("#/components/schemas/Error", "未登录"),
                    "404": _json("#/components/schemas/Error", "不存在或无权查看（两者不作区分）"),
                },
            },
        },
        "/open311/v2/services.{format}": {
            "get": {
                "summary": "服务列表（二级热点分类）",
                "operationId": "open311Services",
                "parameters": [FMT],
                "responses": {"200": _open311("#/components/schemas/Services", "服务列表")},
            },
        },
        "/open311/v2/services/{service_code}.{format}": {
            "get": {
                "summary": "服务定义",
                "operationId": "open311ServiceDefinition",
                "parameters": [{"name": "service_code", "in": "path", "required": True, "schema": {"type": "string"}},
                               FMT],
                "responses": {"200": _open311("#/components/schemas/ServiceDefinition", "服务定义"),
                              "404": OPEN311_ERRORS["404"]},
            },
        },
        "/open311/v2/requests.{format}": {
            "get": {
                "summary": "服务请求列表（不含个人信息）",
                "operationId": "open311Requests",
                "parameters": [
                    FMT,
                    {"name": "service_request_id", "in": "query", "schema": {"type": "string"},
                     "description": "逗号分隔的工单编号；给出时忽略其他条件"},
                    {"name": "service_code", "in": "query", "schema": {"type": "string"}},
                    {"name": "start_date", "in": "query", "schema": DATETIME},
                    {"name": "end_date", "in": "query", "schema": DATETIME},
                    {"name": "status", "in": "query", "schema": {"type": "string", "examples": ["open", "closed"]}},
                ],
                "responses": {"200": _open311("#/components/schemas/ServiceRequests", "服务请求"),
                              "400": OPEN311_ERRORS["400"]},
            },
            "post": {
                "summary": "提交服务请求（登记工单，来源为移动端）",
                "operationId": "open311CreateRequest",
                "parameters": [FMT],
                "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object",
                    "required": ["api_key", "service_code", "description"],
                    "properties": {
                        "api_key": {"type": "string"}, "service_code": {"type": "string"},
                        "description": {"type": "string"}, "lat": {"type": "number"}, "long": {"type": "number"},
                        "address_string": {"type": "string"}, "first_name": {"type": "string"},
                        "last_name": {"type": "string"}, "phone": {"type": "string"}, "email": {"type": "string"},
                        "media_url": {"type": "string", "description": "忽略"},
                        "attribute[appeal_type]": {"type": "string"},
                    }}}}},
                "responses": {"201": _open311("#/components/schemas/CreatedRequests", "已受理"), **OPEN311_ERRORS},
            },
        },
        "/open311/v2/requests/{service_request_id}.{format}": {
            "get": {
                "summary": "单个服务请求",
                "operationId": "open311Request",
                "parameters": [{"name": "service_request_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}, FMT],
                "responses": {"200": _open311("#/components/schemas/ServiceRequests", "服务请求（单元素数组）"),
                              "404": OPEN311_ERRORS["404"]},
            },
        },
    },
}


@require_GET
def openapi_json(request):
    return JsonResponse(DOCUMENT, json_dumps_params={"ensure_ascii": False})
