"""Progress of long work: a run's records written of those fetched, saved every few
records; a person's processing of orders and Master Product Source change as Progress
rows; the JSON endpoints a page polls, for the work's own account only."""

import uuid
from itertools import count

import pytest

from accounts.models import Role, RoleAssignment, User
from accounts.tests.test_views import main_form
from automations import progress
from automations.models import JobRun, Progress, ProgressKind, ProgressStatus, Trigger
from catalog.models import Product
from channels.platforms import JobType
from orders.services import create_purchase_order, create_sales_order
from orders.tests.test_workflow import order_data

pytestmark = pytest.mark.django_db


def saved_progress(run, items, clock=None):
    """Every progress the run held while each item was handed out, then at the end."""
    seen = []
    for _ in progress.track(run, items, **({"clock": clock} if clock else {})):
        run.refresh_from_db()
        seen.append(run.progress["done"])
    run.refresh_from_db()
    return seen, run.progress


def box(url: str) -> str:
    """The opening tag of a progress box a page polls at once (not waiting for a form)."""
    return f'<div class="progress-box" data-testid="progress" data-progress-url="{url}">'


def a_run(world, channel=None):
    return JobRun.objects.create(
        account=world.acme_us, channel=channel, job_type=JobType.IMPORT_ORDERS, trigger=Trigger.MANUAL
    )


def test_a_run_saves_its_progress_every_few_records_not_every_record(world):
    run = a_run(world)
    n = progress.EVERY * 2 + 3
    # A clock that never moves: only the record count makes it save.
    seen, final = saved_progress(run, range(n), clock=lambda: 0.0)
    assert final == {"done": n, "total": n}
    # What the run held while records 0…n-1 were written: 0 until EVERY were done, …
    expected = [(i // progress.EVERY) * progress.EVERY for i in range(n)]
    assert seen == expected
    assert len(set(seen)) == 3  # 3 writes during the loop (+ the final one), not n


def test_a_slow_run_saves_its_progress_after_a_second_whatever_the_count(world):
    run = a_run(world)
    ticks = count()
    # Each reading of the clock is SECONDS later: every record is a second's work.
    seen, final = saved_progress(run, range(4), clock=lambda: next(ticks) * progress.SECONDS)
    assert seen == [0, 1, 2, 3] and final == {"done": 4, "total": 4}


def test_a_read_in_pages_saves_its_progress_after_each_page_of_the_total_the_platform_announced(world):
    from channels.connectors.base import Fetched

    run = a_run(world)
    pages = [
        Fetched(items=[1, 2, 3], expected=8),
        Fetched(items=[4, 5, 6], messages=["7 unreadable"]),
        Fetched(items=[8]),
    ]
    seen = []
    for _ in progress.track_pages(run, pages):
        run.refresh_from_db()
        seen.append(run.progress)
    run.refresh_from_db()
    assert seen == [{"done": 0, "total": 8}, {"done": 3, "total": 8}, {"done": 7, "total": 8}]
    assert run.progress == {"done": 8, "total": 8}


def test_a_read_in_pages_without_an_announced_total_counts_what_it_read_so_far(world):
    from channels.connectors.base import Fetched

    run = a_run(world)
    seen = []
    for _ in progress.track_pages(run, [Fetched(items=[1, 2]), Fetched(items=[3])]):
        run.refresh_from_db()
        seen.append(run.progress)
    assert seen == [{"done": 0, "total": 2}, {"done": 2, "total": 3}]


def test_run_endpoint_answers_the_runs_progress_and_outcome(world, client_for):
    run = a_run(world)
    client = client_for(world.account_admin, world.acme_us)
    queued = client.get(f"/progress/runs/{run.pk}/").json()
    assert (queued["status"], queued["finished"], queued["total"], queued["step"]) == (
        "queued",
        False,
        None,
        "Waiting for a worker",
    )
    JobRun.objects.filter(pk=run.pk).update(status="running")
    assert client.get(f"/progress/runs/{run.pk}/").json()["step"] == "Calling the platform"
    JobRun.objects.filter(pk=run.pk).update(status="running", progress={"done": 5, "total": 40})
    running = client.get(f"/progress/runs/{run.pk}/").json()
    assert (running["done"], running["total"], running["step"]) == (5, 40, "Writing records")
    JobRun.objects.filter(pk=run.pk).update(
        status="partial", progress={"done": 40, "total": 40}, counts={"imported": 39}, messages=["1 refused"]
    )
    done = client.get(f"/progress/runs/{run.pk}/").json()
    assert done["finished"] and done["status_label"] == "Partial"
    assert done["counts"] == {"imported": 39} and done["step"] == "1 refused"


def test_progress_endpoints_are_404_to_other_tenants_and_need_a_sign_in(world, client_for, client):
    run = a_run(world)
    row = progress.start(world.acme_us, ProgressKind.SALES_ORDERS, 3)
    urls = (f"/progress/runs/{run.pk}/", f"/progress/{row.token}/")
    assert [client.get(url).status_code for url in urls] == [302, 302]  # to the sign-in page
    outsider = client_for(world.globex_admin, world.globex_jp)
    assert [outsider.get(url).status_code for url in urls] == [404, 404]
    own = client_for(world.account_admin, world.acme_us)
    assert [own.get(url).status_code for url in urls] == [200, 200]
    assert own.get(f"/progress/{uuid.uuid4()}/").status_code == 404
    assert own.get("/progress/runs/99999999/").status_code == 404


def test_an_org_admin_watches_an_account_of_the_organization_without_selecting_it(world, client_for):
    # The Account page is also reached through Organizations, with no account selected.
    row = progress.start(world.acme_us, ProgressKind.MASTER_SOURCE, 2)
    assert client_for(world.org_admin).get(f"/progress/{row.token}/").json()["total"] == 2


def test_an_account_user_of_another_account_is_404_too(world, client_for):
    eu_user = User.objects.create_user(email="user@acme-eu.test", password="x")
    RoleAssignment.objects.create(user=eu_user, role=Role.ACCOUNT_USER, account=world.acme_eu)
    row = progress.start(world.acme_us, ProgressKind.SALES_ORDERS, 3)
    assert client_for(eu_user, world.acme_eu).get(f"/progress/{row.token}/").status_code == 404


def test_a_token_posted_twice_starts_work_of_its_own(world):
    token = uuid.uuid4()
    first = progress.start(world.acme_us, ProgressKind.MASTER_SOURCE, 2, token=token)
    second = progress.start(world.acme_us, ProgressKind.MASTER_SOURCE, 2, token=token)
    assert first.token == token and second.token != token


def test_processing_selected_orders_is_watched_from_the_list_to_its_outcome(
    linked, eager_celery, client_for, django_capture_on_commit_callbacks
):
    account = linked.world.acme_us
    orders = [create_sales_order(account, order_data(f"P-{n}", quantity=2), source="manual") for n in (1, 2)]
    held = create_sales_order(account, order_data("P-3", quantity=99), source="manual")
    client = client_for(linked.world.account_admin, account)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sales-orders/process/", {"order": [o.pk for o in (*orders, held)]})
    row = Progress.objects.get(account=account)
    assert response.url == f"/sales-orders/?progress={row.token}"
    assert box(f"/progress/{row.token}/") in client.get(response.url).content.decode()
    answer = client.get(f"/progress/{row.token}/").json()
    assert (answer["done"], answer["total"], answer["finished"]) == (3, 3, True)
    assert (answer["status"], answer["step"]) == ("partial", "2 sent, 1 on hold")


def test_sending_purchase_orders_records_its_progress(
    linked, eager_celery, client_for, django_capture_on_commit_callbacks
):
    po = create_purchase_order(
        linked.world.acme_us,
        {
            "number": "PO-9",
            "warehouse": linked.world.warehouses["ACME-US-2"],
            "lines": [{"sku": "SKU-1", "quantity": 1}],
        },
    )
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/purchase-orders/process/", {"purchase_order": [po.pk]})
    row = Progress.objects.get(kind=ProgressKind.PURCHASE_ORDERS)
    assert (row.done, row.total, row.status) == (1, 1, ProgressStatus.SUCCESS)
    assert row.step == "1 sent"


def test_a_manual_sync_comes_back_watching_its_run(
    linked, eager_celery, client_for, django_capture_on_commit_callbacks
):
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/channels/{linked.threepl.pk}/",
            {"action": "sync", "job_type": JobType.IMPORT_INVENTORY},
        )
    run = JobRun.objects.get(trigger=Trigger.MANUAL)
    assert response.url == f"/channels/{linked.threepl.pk}/?run={run.pk}#sync"
    page = client.get(response.url).content.decode()
    assert box(f"/progress/runs/{run.pk}/") in page
    answer = client.get(f"/progress/runs/{run.pk}/").json()
    # The 3PL reports SKU-1 and SKU-2 at NJ1: two records written of two fetched.
    assert (answer["done"], answer["total"], answer["finished"]) == (2, 2, True)


def test_a_master_source_change_on_the_page_records_its_steps(linked, client_for):
    account = linked.world.acme_us
    assert Product.objects.filter(account=account).exists()  # else no confirmation is asked
    client = client_for(linked.world.org_admin, account)
    form = client.get("/account/main/").content.decode()
    assert 'name="progress"' in form and 'data-progress-form="settings-form"' in form
    token = uuid.uuid4()
    change = main_form(account, master_product_source="sales", master_product_channel=linked.marketplace.pk)
    preflight = client.post("/account/main/", {**change, "progress": str(token)})
    assert 'data-testid="master-source-preflight"' in preflight.content.decode()
    asked = client.get(f"/progress/{token}/").json()
    assert (asked["done"], asked["total"], asked["status"]) == (2, 2, "success")
    assert asked["step"] == "Read what the change would do, then confirm it."
    # The confirmation is work of its own, under the token the preflight page gave it.
    confirm_token = uuid.uuid4()
    client.post("/account/main/", {**change, "confirm_master_source": "1", "progress": str(confirm_token)})
    saved = client.get(f"/progress/{confirm_token}/").json()
    assert (saved["done"], saved["total"], saved["step"]) == (1, 1, "Saved; product jobs realigned.")


def test_a_save_that_leaves_the_source_alone_records_no_progress(world, client_for):
    client = client_for(world.org_admin, world.acme_us)
    client.post("/account/main/", {**main_form(world.acme_us, name="Renamed"), "progress": str(uuid.uuid4())})
    assert not Progress.objects.exists()
