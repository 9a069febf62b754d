"""accounts asks the apps above it through accounts.hooks: catalog answers whether a
Master Product Source change needs confirmation; with nobody registered nothing does."""

import pytest

from accounts import hooks, services
from accounts.models import Account

pytestmark = pytest.mark.django_db


def switch_source(linked, **kwargs) -> Account:
    account = Account.objects.get(pk=linked.world.acme_us.pk)
    changes = {"master_product_source": "sales", "master_product_channel": linked.marketplace}
    return services.update_account_settings(
        linked.world.org_admin, account, changes, account.version, **kwargs
    )


def test_catalog_registers_the_preflight_so_an_account_with_products_must_confirm(linked):
    with pytest.raises(services.ConfirmationRequired):
        switch_source(linked)
    assert switch_source(linked, confirm=True).master_product_source == "sales"


def test_without_a_registered_preflight_no_change_needs_confirmation(linked, monkeypatch):
    monkeypatch.setattr(hooks, "_master_source_preflight", None)
    assert switch_source(linked).master_product_source == "sales"


def test_a_dry_run_asks_the_same_question_and_saves_nothing(linked):
    with pytest.raises(services.ConfirmationRequired):
        switch_source(linked, dry_run=True)
    candidate = switch_source(linked, dry_run=True, confirm=True)
    assert candidate.master_product_source == "sales"
    assert Account.objects.get(pk=linked.world.acme_us.pk).master_product_source == "techoms"
