"""The small JSON endpoints a page polls to show long work progressing: a job run (a
manual sync) and a person's other long work (a Progress row). Both answer only to a
person with access to the work's account (the account page is also reached through an
organization, without selecting the account): for anyone else it is not found."""

import uuid

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.cache import never_cache

from accounts.selectors import account_access

from . import progress
from .models import JobRun, Progress

# What a snapshot reads of a run: polled every second, it need not load the rest.
SNAPSHOT_FIELDS = ("job_type", "status", "progress", "counts", "messages", "account_id")


@never_cache
@login_required
def run_progress(request, run_id):
    run = get_object_or_404(JobRun.objects.only(*SNAPSHOT_FIELDS), pk=run_id)
    account_access(request.user, run.account_id)  # 404 without access
    return JsonResponse(progress.run_snapshot(run))


@never_cache
@login_required
def work_progress(request, token):
    row = get_object_or_404(Progress, token=token)
    account_access(request.user, row.account_id)  # 404 without access
    return JsonResponse(progress.progress_snapshot(row))


def watched_url(request) -> str:
    """The progress URL a page was sent back with (`?progress=<token>`), or ''."""
    try:
        token = uuid.UUID(request.GET.get("progress", ""))
    except ValueError:
        return ""
    return reverse("work_progress", args=[token])
