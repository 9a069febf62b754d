"""Property-based fuzzing of the accounts API from its own OpenAPI schema (schemathesis):
whatever a client sends, valid or not, the API never answers 5xx and always answers JSON."""

import pytest
import schemathesis
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from accounts import services
from accounts.middleware import SESSION_KEY as ACCOUNT_SESSION_KEY
from oms.wsgi import application

pytestmark = pytest.mark.django_db

# This app's endpoints; other apps' endpoints are fuzzed by their own tests.
ACCOUNTS_PATHS = r"^/api/v1/(account|warehouses|users|audit-log)/"
CSRF_TOKEN = "f" * 32
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


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
def key_headers(world):
    return {"X-Api-Key": services.regenerate_api_key(None, world.acme_us)}


@pytest.fixture
def org_admin_session_headers(world):
    """A browser session of an Organization Administrator at ACME-US, CSRF token included,
    so that warehouse writes are reached too."""
    session = SessionStore()
    user = get_user_model().objects.get(pk=world.org_admin.pk)
    session[AUTH_SESSION_KEY] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session[ACCOUNT_SESSION_KEY] = world.acme_us.pk
    session.save()
    return {
        "Cookie": f"sessionid={session.session_key}; csrftoken={CSRF_TOKEN}",
        "X-CSRFToken": CSRF_TOKEN,
    }


# Loaded at collection: serving the schema touches no database. (schemathesis's lazy
# `from_fixture` loader does not run under pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application).include(path_regex=ACCOUNTS_PATHS)


def assert_handled(response):
    assert response.status_code < 500, response.text
    if response.request.method != "HEAD":
        assert response.headers["content-type"] == ["application/json"], response.text


@schema.parametrize()
@FUZZ
def test_api_key_client_never_gets_a_server_error(case, key_headers):
    assert_handled(case.call(headers=key_headers))


@schema.parametrize()
@FUZZ
def test_organization_administrator_session_never_gets_a_server_error(case, org_admin_session_headers):
    assert_handled(case.call(headers=org_admin_session_headers))
