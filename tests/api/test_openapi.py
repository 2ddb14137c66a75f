"""The API against its own OpenAPI schema: generated requests never cause a server error,
and every answer matches what the schema promises (status, content type, body)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from api.settings import Settings
from tempodesk.asgi import build_app
from tests.factories import Directory

# Schema-violating requests must be refused with one of these. Beside schemathesis's
# own list: 413, which the API answers (as documented) for a body beyond the request
# size limit before anything else looks at it, e.g. a fuzzed text far over its maxLength.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
config = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [*REJECTIONS, "5xx"]}}}
)
schema = schemathesis.openapi.from_dict(build_app(Settings()).openapi(), config=config)


@pytest.fixture(scope="module", autouse=True)
def _no_lasting_routing_rules(database_url: str, base_url: str) -> Iterator[None]:
    """Fuzzed routing rules would place every later test's new tickets in some group:
    the ones made here are removed when the module ends."""
    directory = Directory(database_url, base_url)
    try:
        [(before,)] = directory.query("SELECT coalesce(max(id), 0) FROM routing_rules")
        yield
        directory.query("DELETE FROM routing_rules WHERE id > %s RETURNING id", before)
    finally:
        directory.close()


@pytest.fixture(scope="module", autouse=True)
def _no_lasting_mail_templates(database_url: str, base_url: str) -> Iterator[None]:
    """Fuzzed mail templates would write every later test's mail (and add languages):
    the stored templates are put back as they were when the module ends."""
    directory = Directory(database_url, base_url)
    try:
        saved = directory.query(
            "SELECT language, kind, part, body, updated_at, updated_by FROM mail_template_overrides"
        )
        yield
        directory.query("DELETE FROM mail_template_overrides RETURNING language")
        for row in saved:
            directory.query(
                "INSERT INTO mail_template_overrides "
                "(language, kind, part, body, updated_at, updated_by) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING language",
                *row,
            )
    finally:
        directory.close()


# Calls with a desk-wide effect (revoking any token, replacing the settings,
# a mailbox that starts polling a made-up host) would disturb the other tests
# sharing this database; they have their own tests. The notification stream
# never ends by design, so a valid call would never return here; its
# answers are checked in tests/api/test_notification_stream.py.
@(
    schema.exclude(path_regex=r"^/api/v1/tokens/\{token_id\}$", method="DELETE")
    .exclude(path="/api/v1/notifications/stream", method="GET")
    .exclude(path="/api/v1/settings", method="PUT")
    .exclude(path_regex=r"^/api/v1/mailboxes", method=["POST", "PUT"])
    .parametrize()
)
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, directory: Directory) -> None:
    admin = directory.admin_for_fuzzing()
    case.call_and_validate(
        base_url=directory.base_url,
        headers={"Authorization": f"Bearer {admin.token}"},
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
            checks.negative_data_rejection,
        ],
    )
