"""The Content-Security-Policy every answer carries, the templates that keep it (no inline
script without the request's nonce, no inline handler or style), and `no-store` on the
pages and answers that reveal a secret once."""

import re
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from accounts.services import regenerate_api_key
from channels import services as channel_services

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# <script> without src (inline) and without a nonce, or data (type="application/json").
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src|nonce)=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|<[^>]*\sstyle\s*=", re.I)


def policy_of(response) -> dict[str, str]:
    directives = (d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    return {name: value for name, value in directives}


@pytest.fixture
def shop(world):
    return channel_services.create_channel(
        None, world.acme_us, kind="sales", name="Shop", platform="sandbox_marketplace", credentials={}
    )


@pytest.mark.parametrize(
    "path", ["/login/", "/account/", "/sales-orders/", "/api/v1/docs/", "/api/v1/account/"]
)
def test_pages_and_api_answers_carry_a_strict_policy(world, client_for, path):
    response = client_for(world.account_admin, account=world.acme_us).get(path)
    assert response.status_code == 200
    policy = policy_of(response)
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "unsafe-inline" not in policy["script-src"]
    assert "unsafe-inline" not in policy["style-src"]
    assert "unsafe-eval" not in policy["script-src"]


def test_each_answer_has_a_nonce_of_its_own_and_the_api_docs_script_carries_it(client):
    first, second = client.get("/api/v1/docs/"), client.get("/api/v1/docs/")
    nonces = [re.search(r"'nonce-([^']+)'", policy_of(r)["script-src"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]
    assert f'<script nonce="{nonces[0]}">' in first.content.decode()
    assert not INLINE_SCRIPT.search(first.content.decode())
    assert not INLINE_STYLE.search(first.content.decode())


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_templates_keep_no_inline_script_handler_or_style(template):
    source = template.read_text()
    assert not INLINE_SCRIPT.search(source)
    assert not INLINE_HANDLER.search(source)
    assert not INLINE_STYLE.search(source)


# Secrets shown once are not kept by caches ------------------------------------------------


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_the_regenerated_api_key_page_is_no_store(world, client_for):
    client = client_for(world.account_admin, account=world.acme_us)
    shown = client.post("/account/main/", {"action": "regenerate_key"}, follow=True)
    assert 'data-testid="new-api-key"' in shown.content.decode()
    assert no_store(shown)


def test_a_new_accounts_key_page_is_no_store(world, client_for):
    client = client_for(world.org_admin)
    shown = client.post(
        f"/organizations/{world.acme.pk}/",
        {"action": "add_account", "name": "Acme CA", "code": "acme-ca", "timezone": "America/Toronto"},
        follow=True,
    )
    assert 'data-testid="new-api-key"' in shown.content.decode()
    assert no_store(shown)


def test_the_rotated_webhook_secret_page_is_no_store(world, client_for, shop):
    client = client_for(world.account_admin, account=world.acme_us)
    shown = client.post(f"/channels/{shop.pk}/", {"action": "rotate_secret"}, follow=True)
    assert 'data-testid="webhook-secret"' in shown.content.decode()
    assert no_store(shown)


def test_the_rotated_webhook_secret_api_answer_is_no_store(world, shop):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=regenerate_api_key(None, world.acme_us))
    response = client.post(f"/api/v1/channels/{shop.pk}/rotate-webhook-secret/")
    assert response.status_code == 200
    assert response.json()["webhook_secret"]
    assert no_store(response)


def grant_to_a_new_person(client, path: str, role: str):
    return client.post(path, {"action": "grant_role", "email": "new@acme.test", "role": role}, follow=True)


def test_a_new_persons_one_time_password_on_the_users_tab_is_no_store(world, client_for):
    client = client_for(world.account_admin, account=world.acme_us)
    shown = grant_to_a_new_person(client, "/account/users/", "account_user")
    assert "One-time password" in shown.content.decode()
    assert no_store(shown)


def test_a_new_persons_one_time_password_on_the_organization_page_is_no_store(world, client_for):
    shown = grant_to_a_new_person(
        client_for(world.org_admin), f"/organizations/{world.acme.pk}/", "supervisor"
    )
    assert "One-time password" in shown.content.decode()
    assert no_store(shown)
