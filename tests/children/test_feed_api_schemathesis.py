"""The feed API against its OpenAPI description, by schemathesis: a bounded run of generated
requests, valid and invalid, sent to the running service (pytest-django's live server) with a
real feed token. Any 5xx, an undocumented status, or a response that breaks the description
fails; so does a request the description calls invalid that the service accepts."""

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from children.feed import feed_token_issue
from tests.children.test_import import CAMDEN
from tests.factories import make_area

SPEC = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"
SCHEMA = schemathesis.openapi.from_path(str(SPEC))
OPERATION = SCHEMA["/api/v1/involvements"]["POST"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = 300
TODAY = date.today()
REALISTIC = {
    "date_of_birth": (TODAY - timedelta(days=6 * 365)).isoformat(),
    "address_since": (TODAY - timedelta(days=400)).isoformat(),
    "started_on": (TODAY - timedelta(days=30)).isoformat(),
    "ended_on": None,
    "nhs_number": None,
    "postcode": "NW1 8NP",
    "other_names": None,
}
ONS_CODE = re.compile(r"^\s*[eE](06|08|09|10)[0-9]{6}\s*$")


def _reachable(case):
    """Generated requests almost never pass the checks that the description cannot state (the
    token's own area; a real date, in the past, of a child under 18; a valid check digit), so
    nearly every one would stop at the first 403 or 400. In valid requests those values are
    made realistic, so that they go on to the import and the answers behind it; an invalid
    value, the point of a negative case, is left as it is."""
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    items = case.body if isinstance(case.body, list) else [case.body]
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("local_authority"), str) and ONS_CODE.match(item["local_authority"]):
            item["local_authority"] = CAMDEN
        if positive:
            item.update(REALISTIC)
    return case


@pytest.mark.django_db(transaction=True)
def test_generated_requests_get_only_documented_answers(live_server):
    _, token = feed_token_issue(source="schemathesis", local_authority=make_area(code=CAMDEN))
    headers = {"Authorization": f"Bearer {token}"}
    cases = st.one_of(
        OPERATION.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        OPERATION.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    ).map(_reachable)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same few hundred requests on every run: CI stays repeatable
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case):
        case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)

    run()
