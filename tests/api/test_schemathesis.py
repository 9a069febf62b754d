"""The whole REST API driven from its own OpenAPI schema by schemathesis, as an outside
client would: every operation with the schema's examples, its coverage cases and fuzzed
input, valid and invalid, then stateful sequences that follow the links between
operations (create a product, read it, change it, …). Every check schemathesis has holds:
no 5xx, every status and header documented, every body matching its schema, invalid
input refused, no resource used after it was deleted, authentication not ignored.

In process over WSGI with a real API key of ACME-US, whose records of every kind
(tests/api/conftest.py) are what valid requests address; on SQLite, or on PostgreSQL
when DATABASE_URL says so. Bounded to a few minutes: at most MAX_EXAMPLES fuzzed cases
per operation, a fixed seed, no deadline.
"""

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings

from accounts.services import regenerate_api_key
from oms.wsgi import application

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 20
STATEFUL_SCENARIOS = 40
# Valid data is still refused by rules no schema can say (an unknown SKU, a taken order
# number, a job the channel does not run), so `positive_data_acceptance` would report
# the business rules themselves; every other check is on.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "seed": 12,
        # The real key is sent by the tests; generated keys would only ever be refused.
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "allow-x00": True,
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True, "max-steps": 8},
        },
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
)
HYPOTHESIS = settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

# Loaded at collection: serving the schema touches no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application, config=CONFIG)


@pytest.fixture(autouse=True)
def connections_kept_open():
    """The WSGI app is called directly: like Django's test client, keep each request from
    closing the connection that holds the test's transaction (PostgreSQL would lose it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def unthrottled(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": None}}


@pytest.fixture
def caller(records):
    """The records of ACME-US and the headers of a real API key of it."""
    records.headers = {"X-Api-Key": regenerate_api_key(None, records.account)}
    return records


def address_real_records(case, ids: dict[str, list[int]]) -> None:
    """Valid cases name a row of the account (`/products/{id}/` one of its products);
    invalid ones keep what was generated. Random ids alone would only ever meet 404."""
    if not case.meta.generation.mode.is_positive:
        return
    for segment, name in re.findall(r"([\w-]+)/\{(\w+)\}", case.operation.path):
        generated = case.path_parameters.get(name)
        if segment in ids and isinstance(generated, int):
            case.path_parameters[name] = ids[segment][generated % len(ids[segment])]


@schema.parametrize()
@HYPOTHESIS
def test_operation_answers_as_documented(case, caller):
    address_real_records(case, caller.ids)
    # Every case starts from the same records, so that a failure replays and shrinks.
    savepoint = transaction.savepoint()
    try:
        case.call_and_validate(headers=caller.headers)
    finally:
        transaction.savepoint_rollback(savepoint)


def test_sequences_of_operations_answer_as_documented(caller):
    class Sequences(schema.as_state_machine()):
        def setup(self):
            # Each sequence starts from the same records, so that Hypothesis can replay
            # and shrink a failing one.
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case):
            return {"headers": caller.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Named as the headers the checks know were sent (the authentication check
            # would otherwise take the key for one it generated itself).
            case.validate_response(
                response,
                additional_checks=additional_checks,
                headers=caller.headers,
                transport_kwargs=kwargs,
            )

    Sequences.run(
        settings=settings(HYPOTHESIS, max_examples=STATEFUL_SCENARIOS, stateful_step_count=8, database=None)
    )
