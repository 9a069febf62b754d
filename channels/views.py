"""Channel pages at the current account: lists per kind, add, and the channel page
(settings, Warehouse Mappings, webhook, manual synchronization, recent runs)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from accounts import shown_once
from accounts.middleware import current_account_access
from accounts.services import StaleVersionError
from automations.models import FINISHED_STATUSES
from automations.services import request_sync
from catalog.models import ChannelPush
from oms.ids import get_by_id_or_404, parse_id

from . import services
from .forms import ChannelForm, MappingForm
from .models import Channel
from .platforms import ChannelKind, JobType
from .selectors import channel_for, product_job_warning, public_credentials

KIND_SLUGS = {"sales-channels": ChannelKind.SALES, "fulfillment-channels": ChannelKind.FULFILLMENT}
# The shown_once slot of a channel's new signing secret (kept encrypted until shown).
SECRET_SLOT = "webhook_secret:{}"  # noqa: S105 - a slot name, not a secret
# The last Test connection's answer, shown once on the page it redirects to.
CONNECTION_SLOT = "connection_test:{}"
RECENT_RUNS = 20


def _access(request):
    """The current account's access, or None when no account is selected."""
    return request.account_access


def _add_errors(form, error: ValidationError) -> None:
    for field, field_messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_messages)


@login_required
def channel_list(request, kind_slug):
    kind = KIND_SLUGS.get(kind_slug)
    if kind is None:
        raise Http404("No such page.")
    access = _access(request)
    if access is None:
        return render(request, "accounts/select_account.html")
    channels = (
        Channel.objects.filter(account=access.account, kind=kind)
        .annotate(mapping_count=Count("warehouse_mappings"))
        .order_by("name")
    )
    return render(
        request,
        "channels/channel_list.html",
        {"channels": channels, "kind": ChannelKind(kind), "kind_slug": kind_slug, "access": access},
    )


@login_required
def channel_add(request, kind_slug):
    kind = KIND_SLUGS.get(kind_slug)
    if kind is None:
        raise Http404("No such page.")
    access = _access(request)
    if access is None:
        return render(request, "accounts/select_account.html")
    if not access.can_edit_settings:
        raise PermissionDenied("Account Users have read-only access.")
    form = ChannelForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.create_channel(
                request.user, access.account, kind=kind, credentials=form.credentials(), **form.settings()
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            shown_once.keep(request, SECRET_SLOT.format(channel.pk), channel.webhook_secret)
            messages.success(request, f"Channel {channel.name} created.")
            return redirect("channel_detail", channel_id=channel.pk)
    return render(
        request,
        "channels/channel_add.html",
        {"form": form, "kind": ChannelKind(kind), "kind_slug": kind_slug, "access": access},
    )


def _slug_of(kind: str) -> str:
    return next(slug for slug, k in KIND_SLUGS.items() if k == kind)


# Shows the webhook signing secret once after creation or rotation: kept by no cache.
@never_cache
@login_required
def channel_detail(request, channel_id):
    access = _access(request)
    if access is None:
        return render(request, "accounts/select_account.html")
    channel = channel_for(access.account, channel_id)
    read_only = not access.can_edit_settings
    form = mapping_form = None
    if request.method == "POST":
        if read_only:
            raise PermissionDenied("Account Users have read-only access.")
        response, form, mapping_form = _post_action(request, channel)
        if response is not None:
            return response
    form = form or ChannelForm(
        initial={
            "name": channel.name,
            "platform": channel.platform,
            "is_active": channel.is_active,
            "buffer_stock": channel.buffer_stock,
            "pii_retention_days": channel.pii_retention_days,
            "version": channel.version,
            **public_credentials(channel),
        },
        kind=channel.kind,
        editing=True,
        read_only=read_only,
    )
    mapping_form = mapping_form or MappingForm(account=access.account)
    jobs = [
        {"value": job, "label": JobType(job).label, "warning": product_job_warning(channel, job)}
        for job in channel.platform_info.job_types
    ]
    return render(
        request,
        "channels/channel_detail.html",
        {
            "channel": channel,
            "access": access,
            "read_only": read_only,
            "form": form,
            "mapping_form": mapping_form,
            "mappings": channel.warehouse_mappings.select_related("warehouse"),
            "webhook_url": request.build_absolute_uri(
                reverse("channel_webhook", args=[channel.webhook_token])
            ),
            "shown_secret": shown_once.take(request, SECRET_SLOT.format(channel.pk)),
            "connection_result": shown_once.take(request, CONNECTION_SLOT.format(channel.pk)),
            "jobs": jobs,
            "kind_slug": _slug_of(channel.kind),
            "last_push": _last_push(channel),
            "progress_url": _watched_run_url(request),
            **_runs_context(channel),
        },
    )


def _post_action(request, channel):
    """Handle one POST action of the channel page.

    Returns (response, settings form, mapping form): a redirect when done, else the
    bound form with its errors for the page to show again.
    """
    here = reverse("channel_detail", kwargs={"channel_id": channel.pk})
    action = request.POST.get("action")
    form = mapping_form = None
    try:
        if action == "save":
            form = ChannelForm(request.POST, kind=channel.kind, editing=True)
            if form.is_valid():
                services.update_channel(
                    request.user,
                    channel,
                    form.settings(),
                    form.cleaned_data.get("version"),
                    credentials=form.credentials(),
                )
                messages.success(request, "Channel saved.")
                return redirect(here), None, None
        elif action in ("activate", "deactivate"):
            services.set_channel_active(request.user, channel, action == "activate")
            messages.success(request, f"Channel {channel.name} {action}d.")
            return redirect(here), None, None
        elif action == "add_mapping":
            mapping_form = MappingForm(request.POST, account=channel.account)
            if mapping_form.is_valid():
                data = mapping_form.cleaned_data
                services.add_mapping(request.user, channel, data["location"], data["warehouse"])
                messages.success(request, "Warehouse mapping added.")
                return redirect(here), None, None
        elif action == "remove_mapping":
            mapping = get_by_id_or_404(channel.warehouse_mappings, request.POST.get("mapping"))
            services.remove_mapping(request.user, mapping)
            messages.success(request, "Warehouse mapping removed.")
            return redirect(here), None, None
        elif action == "rotate_secret":
            secret = services.rotate_webhook_secret(request.user, channel)
            shown_once.keep(request, SECRET_SLOT.format(channel.pk), secret)
            messages.success(
                request, "A new signing secret was generated; the previous one no longer verifies."
            )
            return redirect(here), None, None
        elif action == "test_connection":
            ok, message = services.test_connection(request.user, channel)
            shown_once.keep(request, CONNECTION_SLOT.format(channel.pk), {"ok": ok, "message": message})
            return redirect(here + "#connection"), None, None
        elif action == "sync":
            run = request_sync(request.user, channel, request.POST.get("job_type"))
            messages.success(request, f"{run.get_job_type_display()} is queued.")
            # The page comes back watching the run's progress (automations.progress_views).
            return redirect(f"{here}?run={run.pk}#sync"), None, None
        else:
            return HttpResponseNotAllowed(["GET"]), None, None
    except ValidationError as error:
        bound = form if action == "save" else mapping_form if action == "add_mapping" else None
        if bound is None:
            messages.error(request, " ".join(error.messages))
            return redirect(here), None, None
        _add_errors(bound, error)
    except StaleVersionError as error:
        form.add_error(None, str(error))
    return None, form, mapping_form


def _watched_run_url(request) -> str:
    """The progress URL of the sync this page was sent back with (`?run=<id>`), or ''."""
    run_id = parse_id(request.GET.get("run"))
    return reverse("run_progress", args=[run_id]) if run_id else ""


def _last_push(channel):
    """The job run of the channel's last real-time inventory push, if any."""
    state = ChannelPush.objects.filter(channel=channel).select_related("last_run").first()
    return state.last_run if state else None


def _runs_context(channel) -> dict:
    runs = list(channel.job_runs.select_related("requested_by")[:RECENT_RUNS])
    return {"runs": runs, "runs_in_progress": any(r.status not in FINISHED_STATUSES for r in runs)}


@login_required
def channel_runs(request, channel_id):
    """The recent runs table alone, which the channel page reloads while runs are in progress."""
    channel = channel_for(current_account_access(request).account, channel_id)
    return render(request, "channels/_runs.html", {"channel": channel, **_runs_context(channel)})
