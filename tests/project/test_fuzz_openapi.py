"""Property-based fuzzing of every operation in our own OpenAPI schema with schemathesis (ADR 0006).

The WSGI app is called in-process; the caller is an operator (alice) with a JWT and some data (a region
with a host). Per operation a bounded number of generated requests (`FUZZ_MAX_EXAMPLES`, default 6)
must never get a 5xx and every response must conform to the schema (status code documented, body
matching the documented schema, content type). Webhook targets never resolve (nothing leaves the machine).
"""

from __future__ import annotations

import os
import socket
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ipam_project.wsgi import application
from tests.factories import make_host, make_region

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "6"))

schema = schemathesis.openapi.from_wsgi("/openapi.json", application)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.fixture
def _keep_the_test_connection() -> Any:
    """As Django's test client does: the in-process WSGI calls must not close the test's DB connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def operator_token(alice: Any, monkeypatch: pytest.MonkeyPatch, _keep_the_test_connection: Any) -> str:
    from rest_framework_simplejwt.tokens import RefreshToken

    def unresolvable(host: str, port: int) -> list[str]:
        raise socket.gaierror(f"fuzzing: {host} is not resolved")

    monkeypatch.setattr("webhooks.ssrf.resolve", unresolvable)
    region = make_region(alice, country="India")
    make_host(alice, region)
    return str(RefreshToken.for_user(alice).access_token)


@pytest.mark.django_db
@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
def test_no_operation_answers_5xx_or_breaks_its_schema(case: Any, operator_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {operator_token}"}, checks=CHECKS)
