"""The overview page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from dashboard.selectors.overview import overview_for_user, recent_pushes
from dashboard.views.common import HtmxHttpRequest


@login_required
def overview(request: HtmxHttpRequest) -> HttpResponse:
    """What the user can see in numbers, the latest pushes, and how to log in with docker."""
    context = {
        "overview": overview_for_user(user=request.user),
        "recent": recent_pushes(user=request.user),
        "login_command": f"docker login -u {request.user.get_username()} {settings.REGISTRY_HOST}",
    }
    return render(request, "dashboard/overview.html", context)
