"""Fuzz every operation of /v1/openapi.json with schemathesis: no 5xx, responses match the schema."""

from __future__ import annotations

import shutil
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.tenancy.domain import TenantKind
from tests.factories.tenancy import auth, make_tenant

EXAMPLES_PER_OPERATION = 20


def test_every_operation_survives_fuzzing(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "lendbridge.sqlite3")
    app = create_app(Settings.for_tests(tmp_path, rate_limit="100000/second"))
    operator = make_tenant(app, TenantKind.OPERATOR, "Fuzz Ops")
    partner = make_tenant(app, TenantKind.PARTNER, "Fuzz Partner")
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    def fuzz_operation(operation: object, key: str) -> None:
        @given(case=operation.as_strategy())  # type: ignore[attr-defined]
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def fuzz(case: schemathesis.Case) -> None:
            # Business rules may refuse schema-valid input (422), which is not a defect.
            case.call_and_validate(headers=auth(key), excluded_checks=[positive_data_acceptance])

        fuzz()

    for operation in operations:
        fuzz_operation(
            operation, operator.test_key if operation.path.startswith("/admin/") else partner.test_key
        )
    app.extensions["lendbridge"].db.engine.dispose()
