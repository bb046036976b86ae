"""Every operation of the dashboard's OpenAPI document, driven by schemathesis with generated
parameters and bodies (valid and invalid): none answers with a server error. The operations
are read from the running app's own document, so each page's API is covered once it lands.

Unsafe requests carry the public's CSRF token, so they reach the operation itself (without it
they would all stop at 403 and test nothing). Few examples per operation keep it lean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from cspkit.products.web.accounts import ANON_COOKIE, CSRF_HEADER
from cspkit.products.web.app import create_app

EXAMPLES = 6          # per operation and mode: lean, every operation still covered
TIMEOUT = 120        # seconds: a cold assessment on a busy machine is slow, not an error


@pytest.fixture(scope="module")
def fuzzed_app(demo_warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An app of its own (its data folder apart from the session's app)."""
    return create_app(demo_warehouse_path, data_dir=tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def public_credentials(fuzzed_app: Any) -> tuple[dict[str, str], dict[str, str]]:
    with TestClient(fuzzed_app) as client:
        token = client.get("/api/me").json()["csrf_token"]
        anon = client.cookies.get(ANON_COOKIE)
    assert token and anon
    return {CSRF_HEADER: token}, {ANON_COOKIE: anon}


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str],
          cookies: dict[str, str]) -> None:
    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        response = case.call(headers=headers, cookies=cookies, timeout=TIMEOUT)
        case.validate_response(response, checks=[not_a_server_error])

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # Nothing of this operation can be made invalid (it takes no input).


def test_no_operation_answers_with_a_server_error(
        api_schema: Any, public_credentials: tuple[dict[str, str], dict[str, str]],
        subtests: Any) -> None:
    # (schemathesis's own pytest loader for fixtures does not run under this pytest; the
    # same generation, driven here, one subtest per operation and mode.)
    headers, cookies = public_credentials
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operation"
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with subtests.test(operation=operation.label, mode=mode.value):
                _fuzz(operation, mode, headers, cookies)
