"""``/openapi.json`` describes every route with its request and response models, and the API keeps
its word: schemathesis sends generated requests to every operation (a few each, to stay quick) and
checks there is no 500, every status code is documented, and every body matches its schema.

``storage/local`` is left to the targeted tests (generated absolute roots would make folders
anywhere); ``runs/trigger`` is fuzzed with ``mode`` forced to ``dry`` (a generated ``run`` would
start real runs); generated exports leave the files out (a bundle of the sample's images per
example is the export tests' job, not the fuzzer's)."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_route_has_request_and_response_models(api):
    schema = httpx.get(f"{api.base}/openapi.json").json()
    assert schema["info"]["title"] == "Kroma Kit API"
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) >= 35
    for path, method, op in operations:
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ok, (method, path)
        assert "422" not in op["responses"], (method, path)
        if path != "/health":
            assert {"400", "401", "403", "404", "500"} <= set(op["responses"]), (method, path)
            assert op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")
        if method in ("post", "put") and not path.endswith("validate-config"):
            assert "requestBody" in op and op["requestBody"]["required"], (method, path)
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    secured = {(path, method) for path, method, op in operations if {"bearerAuth": []} in op.get("security", [])}
    assert secured == {(path, method) for path, method, _ in operations if path != "/health"}


def _document() -> dict:
    """The app's OpenAPI document (the one ``/openapi.json`` serves, checked below), built at
    collection time so schemathesis can make one test per operation."""
    from pathlib import Path

    from kroma_kit.server.app import create_app
    from kroma_kit.server.config import ServerConfig
    from kroma_kit.workspace import Workspace

    return create_app(ServerConfig(ws=Workspace(Path("/nonexistent")))).openapi()


def test_openapi_json_is_the_document_under_test(api):
    assert httpx.get(f"{api.base}/openapi.json").json() == _document()


schema = schemathesis.openapi.from_dict(_document()).exclude(path_regex=r"/storage/local$")


@schema.hook
def map_body(context, body):
    """Generated trigger bodies plan dry runs only, generated exports carry no files; every other
    field stays as generated."""
    path = context.operation.path if context.operation is not None else ""
    if path.endswith("/runs/trigger") and isinstance(body, dict):
        return {**body, "mode": "dry"}
    if path.endswith("/exports") and isinstance(body, dict):
        return {**body, "include_files": False}
    return body


@schema.parametrize()
@settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_api_matches_its_schema(case, api):
    case.call_and_validate(base_url=api.base, headers={"Authorization": f"Bearer {api.token}"}, checks=CHECKS)
