"""Schemathesis against the OpenAPI document the platform serves (/api/openapi.json).

The document is fetched from the Django WSGI application in-process, and every operation it
describes (the staff JSON API and Open311, JSON and XML) is called with data that fits the schema
and data that breaks it. Operator 李 is logged in with a CSRF token, and creation requests carry a
real Open311 key, so the calls reach the code behind the doors, not just the doors. The answer
may be any 2xx, 3xx or 4xx: never a server error. Bounded: a few examples per operation and mode,
well under a minute.
"""

import time

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings

from hotline.open311.models import Open311Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI application directly fires request_started/request_finished, whose
    close_old_connections would close the test's connection in the middle of its transaction on
    PostgreSQL (Django's test Client detaches it the same way)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)

EXAMPLES = 12
BUDGET_SECONDS = 60
CSRF = "k" * 32  # an unmasked secret: Django accepts it in the cookie and the header alike


def test_no_operation_of_the_openapi_document_answers_a_server_error(people, new_order, keep_test_connection):
    from hotline.wsgi import application

    new_order()  # something to list and to look up
    key = Open311Client.objects.create(name="汝州通").key
    li = Client()
    li.force_login(people["operator_li"])
    cookies = {"sessionid": li.cookies["sessionid"].value, "csrftoken": CSRF}
    headers = {"X-CSRFToken": CSRF}

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.definition.raw["operationId"] for op in operations} >= {
        "createOrder", "getOrder", "open311Services", "open311ServiceDefinition", "open311Requests",
        "open311CreateRequest", "open311Request"}

    started = time.monotonic()
    calls, errors = [], []

    def exercise(operation, mode):
        creates = operation.definition.raw["operationId"] == "open311CreateRequest"

        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case):
            if creates and isinstance(case.body, dict):
                case.body["api_key"] = key
            response = case.call(headers=headers, cookies=cookies)
            calls.append(response.status_code)
            if response.status_code >= 500:
                errors.append(f"{case.method} {case.formatted_path} → {response.status_code}")

        call()

    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            exercise(operation, mode)

    elapsed = time.monotonic() - started
    assert not errors, errors
    assert len(calls) >= len(operations) * 2 and any(200 <= s < 300 for s in calls)
    assert elapsed < BUDGET_SECONDS, f"{elapsed:.0f} s"
