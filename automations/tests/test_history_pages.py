"""The run history as pages show it: strips of last runs, the Job Runs filters (validated,
scoped to the account) and a run's own page; the real-time pushes and empty successes
worded for people (item 7 of issue 16)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from automations.models import JobRun, RunStatus, Trigger
from automations.templatetags.automations import run_duration
from channels import services as channel_services

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def make_run(channel, job_type="import_orders", status=RunStatus.SUCCESS, trigger=Trigger.SCHEDULE, **fields):
    key = fields.pop("key", f"{channel.pk}:{job_type}:{JobRun.objects.count()}")
    return JobRun.objects.create(
        account=channel.account,
        channel=channel,
        job_type=job_type,
        trigger=trigger,
        status=status,
        idempotency_key=key,
        **fields,
    )


def listed(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-run="(\d+)"', page)]


@pytest.fixture
def runs(beta_channel):
    return {
        "imported": make_run(beta_channel, counts={"imported": 3}),
        "empty": make_run(beta_channel, started_at=NOW, finished_at=NOW),
        "push": make_run(
            beta_channel,
            "export_inventory",
            key=None,
            counts={"updated": 2},
            messages=["Real-time push of 2 changed product(s)."],
        ),
        "failed": make_run(
            beta_channel,
            status=RunStatus.FAILED,
            trigger=Trigger.MANUAL,
            counts={"attempts": 4},
            messages=[
                "Attempt 2 of 4 after: timed out",
                "Attempt 3 of 4 after: HTTP 503 (done before: imported 1)",
                "Attempt 4 of 4 after: HTTP 503",
                "Attempt 4 of 4: HTTP 503",
            ],
        ),
    }


def test_a_push_is_labelled_as_one_and_an_empty_success_says_so(client_for, world, beta_channel, runs):
    client = client_for(world.account_user, world.acme_us)
    for url in (reverse("job_runs"), reverse("channel_runs", args=[beta_channel.pk])):
        page = client.get(url).content.decode()
        push = re.search(rf'<tr data-run="{runs["push"].pk}".*?</tr>', page, re.S).group(0)
        assert "Real-time push" in push and "Schedule" not in push
        empty = re.search(rf'<tr data-run="{runs["empty"].pk}".*?</tr>', page, re.S).group(0)
        assert "Nothing new to import." in empty and "—" not in empty


def test_job_runs_filter_by_trigger_tells_pushes_from_scheduled_runs(client_for, world, runs):
    client = client_for(world.account_user, world.acme_us)
    assert listed(client.get(reverse("job_runs"), {"trigger": "realtime"}).content.decode()) == [
        runs["push"].pk
    ]
    scheduled = listed(client.get(reverse("job_runs"), {"trigger": "schedule"}).content.decode())
    assert sorted(scheduled) == sorted([runs["imported"].pk, runs["empty"].pk])


def test_job_runs_filter_by_channel_status_job_and_dates(client_for, world, beta_channel, runs):
    other = channel_services.create_channel(
        None, world.acme_us, kind="sales", name="Other", platform="sandbox_marketplace_beta"
    )
    elsewhere = make_run(other)
    old = make_run(beta_channel)
    # 03:30 UTC on 2026-03-01 is the evening of 2026-02-28 in New York.
    JobRun.objects.filter(pk=old.pk).update(queued_at=datetime(2026, 3, 1, 3, 30, tzinfo=UTC))
    client = client_for(world.account_user, world.acme_us)
    url = reverse("job_runs")
    assert listed(client.get(url, {"channel": other.pk}).content.decode()) == [elsewhere.pk]
    assert listed(client.get(url, {"status": "failed"}).content.decode()) == [runs["failed"].pk]
    assert listed(client.get(url, {"job_type": "export_inventory"}).content.decode()) == [runs["push"].pk]
    day = {"queued_from": "2026-02-28", "queued_to": "2026-02-28"}
    assert listed(client.get(url, day).content.decode()) == [old.pk]
    assert old.pk not in listed(client.get(url, {"queued_from": "2026-03-01"}).content.decode())


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"status": "exploded"}, "status", "Choose one of the listed values."),
        ({"trigger": "cron"}, "trigger", "Choose one of the listed values."),
        ({"job_type": "pii_retention"}, "job_type", None),  # offered on the account's list
        ({"queued_from": "yesterday"}, "queued_from", "Enter a date."),
        ({"queued_from": "2026-03-02", "queued_to": "2026-03-01"}, "queued_to", "The end date is before"),
        ({"channel": "abc"}, "channel", "Choose a channel of this account."),
    ],
)
def test_bad_filters_get_a_message_beside_the_field(client_for, world, runs, query, field, message):
    answer = client_for(world.account_user, world.acme_us).get(reverse("job_runs"), query)
    page = answer.content.decode()
    if message is None:
        assert answer.status_code == 200
        return
    assert answer.status_code == 400
    assert re.search(rf'id="id_{field}-errors"><li>{re.escape(message)}', page)
    assert listed(page) == [] and "correct the filters marked above" in page


def test_job_runs_filters_are_scoped_to_the_account(client_for, world, runs, beta_channel):
    globex = channel_services.create_channel(
        None, world.globex_jp, kind="sales", name="Globex Beta", platform="sandbox_marketplace_beta"
    )
    make_run(globex)
    client = client_for(world.account_user, world.acme_us)
    answer = client.get(reverse("job_runs"), {"channel": globex.pk})
    assert answer.status_code == 400 and "Choose a channel of this account." in answer.content.decode()
    assert "Globex Beta" not in client.get(reverse("job_runs")).content.decode()
    assert client.get(reverse("channel_job_runs", args=[globex.pk])).status_code == 404
    # A channel's page offers the channel's jobs only and no channel filter.
    page = client.get(reverse("channel_job_runs", args=[beta_channel.pk]), {"job_type": "pii_retention"})
    assert page.status_code == 400 and 'name="channel"' not in page.content.decode()


def test_a_runs_page_shows_attempts_messages_and_counts(client_for, world, runs):
    client = client_for(world.account_user, world.acme_us)
    page = client.get(reverse("job_run", args=[runs["failed"].pk])).content.decode()
    attempts = re.findall(r"<tr><td>(\d)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", page)
    assert attempts == [
        ("1", "Failed, retried", "timed out"),
        ("2", "Failed, retried", "HTTP 503 (done before: imported 1)"),
        ("3", "Failed, retried", "HTTP 503"),
        ("4", "Failed", "HTTP 503"),
    ]
    assert "No counts recorded." in page and "Manual" in page
    done = client.get(reverse("job_run", args=[runs["imported"].pk])).content.decode()
    assert re.search(r"<th scope=\"row\">Imported</th><td>3</td>", done)
    assert re.findall(r"<tr><td>(\d)</td><td>([^<]+)</td>", done) == [("1", "Success")]
    empty = client.get(reverse("job_run", args=[runs["empty"].pk])).content.decode()
    assert "Nothing new to import." in empty
    push = client.get(reverse("job_run", args=[runs["push"].pk])).content.decode()
    assert "Real-time push" in push and "Real-time push of 2 changed product(s)." in push


def test_a_run_of_another_account_is_404(client_for, world, runs):
    run = runs["imported"]
    assert (
        client_for(world.globex_admin, world.globex_jp).get(reverse("job_run", args=[run.pk])).status_code
        == 404
    )
    assert (
        client_for(world.account_user, world.acme_us).get(reverse("job_run", args=[run.pk])).status_code
        == 200
    )
    assert client_for(world.account_user, world.acme_us).get("/job-runs/99999999/").status_code == 404


def test_job_rows_and_channels_show_their_last_runs_as_strips(client_for, world, beta_channel, runs):
    client = client_for(world.account_user, world.acme_us)
    page = client.get(reverse("channel_detail", args=[beta_channel.pk])).content.decode()
    row = re.search(r'<tr data-job="import_orders">(.*?)</tr>', page, re.S).group(1)
    strip = re.search(r'data-testid="run-strip">(.*?)</ol>', row, re.S).group(1)
    # Oldest first, each mark linking to its run.
    expected = [runs[k] for k in ("imported", "empty", "failed")]
    assert re.findall(r'href="/job-runs/(\d+)/" class="run-mark status-(\w+)"', strip) == [
        (str(r.pk), r.status) for r in expected
    ]
    channel_strip = re.search(r'class="strip-line">.*?</ol>', page, re.S).group(0)
    assert len(re.findall(r'class="run-mark', channel_strip)) == 4


def test_a_stable_job_row_strip_gathers_its_stable_channels(client_for, world, stable_channels, beta_channel):
    make_run(stable_channels[0], status=RunStatus.PARTIAL)
    make_run(stable_channels[1], status=RunStatus.SKIPPED)
    make_run(beta_channel)  # a beta channel's run is not the account-wide job's
    page = client_for(world.account_user, world.acme_us).get(
        reverse("current_account_tab", args=["recurring-jobs"])
    )
    row = re.search(r'<tr data-job="import_orders">(.*?)</tr>', page.content.decode(), re.S).group(1)
    assert re.findall(r'class="run-mark status-(\w+)"', row) == ["partial", "skipped"]


def test_job_runs_pages_hold_fifty_runs_each(client_for, world, beta_channel):
    JobRun.objects.bulk_create(
        JobRun(
            account=world.acme_us,
            channel=beta_channel,
            job_type="import_orders",
            trigger=Trigger.SCHEDULE,
            status=RunStatus.SUCCESS,
            idempotency_key=str(n),
        )
        for n in range(60)
    )
    client = client_for(world.account_user, world.acme_us)
    first = client.get(reverse("job_runs"), {"status": "success"}).content.decode()
    assert len(listed(first)) == 50 and "Page 1 of 2" in first and "status=success&amp;page=2" in first
    assert (
        len(listed(client.get(reverse("job_runs"), {"status": "success", "page": 2}).content.decode())) == 10
    )


def test_the_channel_list_shows_each_channels_last_runs(client_for, world, beta_channel, runs):
    other = channel_services.create_channel(
        None, world.acme_us, kind="sales", name="Quiet", platform="sandbox_marketplace_beta"
    )
    page = client_for(world.account_user, world.acme_us).get(reverse("channel_list", args=["sales-channels"]))
    rows = dict(re.findall(r'<tr data-channel="([^"]+)">(.*?)</tr>', page.content.decode(), re.S))
    assert re.findall(r'class="run-mark status-(\w+)"', rows[beta_channel.name]) == [
        r.status for r in sorted(runs.values(), key=lambda r: r.pk)
    ]
    assert "No runs yet" in rows[other.name]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.42, "0.4 s"), (12, "12 s"), (185, "3 min 5 s"), (3720, "1 h 2 min")],
)
def test_run_durations_read_plainly(seconds, text):
    assert run_duration(timedelta(seconds=seconds)) == text


def test_a_runs_page_says_how_long_it_took_among_its_jobs_last_runs(client_for, world, beta_channel, runs):
    run = runs["empty"]
    JobRun.objects.filter(pk=run.pk).update(finished_at=NOW + timedelta(seconds=185))
    client = client_for(world.account_user, world.acme_us)
    page = client.get(reverse("job_run", args=[run.pk])).content.decode()
    assert re.search(r'data-testid="run-took">3 min 5 s<', page)
    strip = re.search(r'data-testid="run-strip">(.*?)</ol>', page, re.S).group(1)
    same_job = [runs[k].pk for k in ("imported", "empty", "failed")]  # not the push
    assert [int(pk) for pk in re.findall(r'href="/job-runs/(\d+)/"', strip)] == same_job
