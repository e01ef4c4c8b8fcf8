"""The repository's Triggers tab: its triggers with their latest deliveries; adding, changing,
enabling, deleting and test deliveries (Manage holders); one trigger's deliveries page by page.

Read holders see everything but the secret and the extra headers' values. Each POST answers
with the tab's section for htmx (a toast says what changed) or a redirect back without
JavaScript. The services decide and refuse; the middleware renders their errors.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from dashboard.forms import TriggerEnableForm, TriggerForm
from dashboard.models import Level, Repository, Trigger
from dashboard.selectors.triggers import RECENT_DELIVERIES, trigger_deliveries, trigger_rows
from dashboard.services.triggers import (
    SIGNATURE_HEADER,
    trigger_create,
    trigger_delete,
    trigger_enable_parse,
    trigger_get,
    trigger_set_enabled,
    trigger_test,
    trigger_update,
)
from dashboard.views.common import (
    HtmxHttpRequest,
    get_repository_for_user,
    paginate,
    partial,
    repository_url,
)

PAGE = "dashboard/repository_triggers.html"
RECENT = "dashboard/partials/_trigger_deliveries.html"
DELIVERIES_PER_PAGE = 25


def _base(repository: Repository, level: int) -> dict[str, Any]:
    url = repository_url(repository)
    return {
        "repository": repository,
        "repository_url": url,
        "triggers_url": f"{url}-/triggers/",
        "tab": "triggers",
        "level": level,
        "can_manage": level >= Level.MANAGE,
    }


def _answer(
    request: HtmxHttpRequest, repository: Repository, level: int, message: str | None = None
) -> HttpResponse:
    """The tab (or its section for htmx); after a POST without htmx, a redirect to it."""
    if message:
        messages.success(request, message)
    context = _base(repository, level)
    if request.method == "POST" and not request.htmx:
        return redirect(context["triggers_url"])
    context |= {
        "rows": trigger_rows(repository=repository),
        "trigger_types": Trigger.Type.choices,
        "payload_formats": Trigger.PayloadFormat.choices,
        "signature_header": SIGNATURE_HEADER,
    }
    return render(request, partial(request, PAGE, "section"), context)


def _trigger(
    request: HtmxHttpRequest, org: str, repo: str, name: str, need: int
) -> tuple[Repository, int, Trigger]:
    repository, level = get_repository_for_user(request, org, repo, need=need)
    return repository, level, trigger_get(repository=repository, name=name, user=request.user)


@login_required
@require_http_methods(["GET", "POST"])
def repository_triggers(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """GET: the triggers with their latest deliveries (Read). POST: add a trigger (Manage)."""
    need = Level.MANAGE if request.method == "POST" else Level.READ
    repository, level = get_repository_for_user(request, org, repo, need=need)
    message = None
    if request.method == "POST":
        form = TriggerForm(request.POST)
        trigger = trigger_create(
            repository=repository,
            actor=request.user,
            name=form.text("name"),
            trigger_type=form.text("trigger_type"),
            condition=form.text("condition"),
            url=form.text("url"),
            enabled=form.is_enabled(),
            secret=form.text("secret"),
            headers=form.header_map(),
            payload_format=form.text("payload_format"),
        )
        message = f"Trigger {trigger.name} added."
    return _answer(request, repository, level, message)


@login_required
@require_POST
def repository_trigger_update(
    request: HtmxHttpRequest, org: str, repo: str, name: str
) -> HttpResponse:
    """Change a trigger's condition, target, secret, headers, payload and state (Manage)."""
    repository, level, trigger = _trigger(request, org, repo, name, Level.MANAGE)
    form = TriggerForm(request.POST)
    trigger_update(
        trigger=trigger,
        actor=request.user,
        trigger_type=form.text("trigger_type"),
        condition=form.text("condition"),
        url=form.text("url"),
        enabled=form.is_enabled(),
        payload_format=form.text("payload_format"),
        secret=form.secret_change(),
        headers=form.headers_change(),
    )
    return _answer(request, repository, level, f"Trigger {trigger.name} saved.")


@login_required
@require_POST
def repository_trigger_enable(
    request: HtmxHttpRequest, org: str, repo: str, name: str
) -> HttpResponse:
    """Enable (`enable=true`) or disable (`enable=false`) a trigger (Manage)."""
    repository, level, trigger = _trigger(request, org, repo, name, Level.MANAGE)
    form = TriggerEnableForm(request.POST)
    form.is_valid()
    enabled = trigger_enable_parse(form.cleaned_data.get("enable", ""))
    trigger_set_enabled(trigger=trigger, enabled=enabled, actor=request.user)
    state = "enabled" if enabled else "disabled"
    return _answer(request, repository, level, f"Trigger {trigger.name} {state}.")


@login_required
@require_http_methods(["GET", "POST"])
def repository_trigger_delete(
    request: HtmxHttpRequest, org: str, repo: str, name: str
) -> HttpResponse:
    """GET: confirm. POST: delete the trigger and its deliveries (Manage)."""
    repository, level, trigger = _trigger(request, org, repo, name, Level.MANAGE)
    triggers_url = _base(repository, level)["triggers_url"]
    if request.method == "POST":
        trigger_delete(trigger=trigger, actor=request.user)
        return _answer(request, repository, level, f"Trigger {trigger.name} deleted.")
    context = {
        "title": f"Delete trigger {trigger.name}?",
        "explanation": "Its deliveries are deleted with it; queued deliveries are not sent.",
        "items": [f"{trigger.name} → {trigger.url}"],
        "action": f"{triggers_url}{trigger.name}/delete/",
        "confirm_label": "Delete trigger",
        "cancel_url": triggers_url,
        "target": "#triggers",
    }
    return render(request, partial(request, "dashboard/confirm.html", "dialog"), context)


@login_required
@require_POST
def repository_trigger_test(
    request: HtmxHttpRequest, org: str, repo: str, name: str
) -> HttpResponse:
    """Queue a test delivery of the trigger (Manage)."""
    repository, level, trigger = _trigger(request, org, repo, name, Level.MANAGE)
    delivery = trigger_test(trigger=trigger, actor=request.user)
    return _answer(
        request,
        repository,
        level,
        f"Test delivery #{delivery.pk} of {trigger.name} queued ({delivery.tag}).",
    )


@login_required
@require_GET
def repository_trigger_deliveries(
    request: HtmxHttpRequest, org: str, repo: str, name: str
) -> HttpResponse:
    """One trigger's deliveries, page by page (Read). With `?recent=1` for htmx: the tab's
    latest deliveries of the trigger, polled while one is waiting (286 once none is)."""
    repository, level, trigger = _trigger(request, org, repo, name, Level.READ)
    deliveries = trigger_deliveries(trigger=trigger)
    context = _base(repository, level) | {"trigger": trigger}
    if request.htmx and request.GET.get("recent"):
        recent = list(deliveries[:RECENT_DELIVERIES])
        waiting = any(delivery.waiting for delivery in recent)
        context |= {"deliveries": recent, "waiting": waiting, "recent": True}
        response = render(request, RECENT, context)
        return response if waiting else _stop_polling(response)
    context["page"] = paginate(deliveries, DELIVERIES_PER_PAGE, request.GET.get("page"))
    return render(request, partial(request, PAGE, "deliveries"), context)


def _stop_polling(response: HttpResponse) -> HttpResponse:
    stop = HttpResponseStopPolling(response.content)
    stop["Content-Type"] = response["Content-Type"]
    return stop
