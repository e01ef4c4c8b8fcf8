"""The audit log page (`/audit/`): filters, pages of 50, and a CSV export of the filtered rows."""

from __future__ import annotations

import csv
import json
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from dashboard.models import AuditEvent
from dashboard.services.audit import EXPORT_LIMIT, audit_events_filtered
from dashboard.views.common import HtmxHttpRequest, paginate, partial

EVENTS_PER_PAGE = 50
#: The trace names offered in the action filter (any name may still be typed in the URL).
ACTIONS = (
    "login",
    "createRegistryToken",
    "downloadImage",
    "uploadManifest",
    "deleteImageTag",
    "deleteManifest",
    "updateImageRepository",
    "deleteImageRepository",
    "createUserNamespace",
    "deleteUserNamespace",
    "createUserNamespaceAuth",
    "updateUserNamespaceAuth",
    "deleteUserNamespaceAuth",
    "createUserRepositoryAuth",
    "updateUserRepositoryAuth",
    "deleteUserRepositoryAuth",
    "createTeam",
    "deleteTeam",
    "addTeamMember",
    "removeTeamMember",
    "addTeamManager",
    "removeTeamManager",
    "createDockerConfig",
    "deleteDockerConfig",
    "createAccessKey",
    "updateAccessKey",
    "deleteAccessKey",
    "createApiToken",
    "deleteApiToken",
    "createRepoShare",
    "updateRepoShare",
    "deleteRepoShare",
)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150)
    action = forms.CharField(required=False, max_length=64)
    resource = forms.CharField(required=False, max_length=300)
    organization = forms.CharField(required=False, max_length=64)
    result = forms.ChoiceField(required=False, choices=[("", "Any"), *AuditEvent.Result.choices])
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)

    def filters(self) -> dict[str, Any]:
        """The valid filter values (an invalid one is ignored, as if left empty)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data[name] for name in self.fields if data.get(name) not in (None, "")}


@login_required
def audit_list(request: HtmxHttpRequest) -> HttpResponse:
    """The traces the user may read, filtered; `?format=csv` downloads up to 5,000 of them."""
    filters = AuditFilterForm(request.GET)
    events = audit_events_filtered(user=request.user, **filters.filters())
    if request.GET.get("format") == "csv":
        return _csv(events[:EXPORT_LIMIT])
    context = {
        "filters": filters,
        "actions": ACTIONS,
        "page": paginate(events, EVENTS_PER_PAGE, request.GET.get("page")),
    }
    return render(request, partial(request, "dashboard/audit.html", "table"), context)


def _csv(events: Any) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="berth-audit-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "time",
            "actor",
            "source_ip",
            "action",
            "resource_type",
            "resource_name",
            "organization",
            "result",
            "detail",
        ]
    )
    for event in events.iterator():
        writer.writerow(
            [
                event.created_at.isoformat(),
                _cell(event.actor_name),
                event.source_ip or "",
                event.action,
                event.resource_type,
                _cell(event.resource_name),
                event.organization,
                event.result,
                json.dumps(event.detail or {}, sort_keys=True),
            ]
        )
    return response


def _cell(value: str) -> str:
    # A cell starting with =, +, - or @ is a formula to spreadsheets (CSV injection).
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value
