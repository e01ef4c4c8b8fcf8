"""Help pages: the exact push commands for this registry and this user; the API reference."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from dashboard.selectors.organizations import organization_names_writable_by
from dashboard.views.common import HtmxHttpRequest, registry_is_plain_http

EXAMPLE = "myimage:1.0"


@login_required
def api_docs(request: HttpRequest) -> HttpResponse:
    """The SWR API's reference (Swagger UI over the generated OpenAPI document), with what a
    script needs to authenticate; "Try it out" runs as the signed-in user."""
    context = {
        "schema_url": reverse("api-schema-json"),
        "api_base": settings.PUBLIC_URL,
        "region": settings.REGION,
    }
    return render(request, "dashboard/api.html", context)


@login_required
def push_help(request: HtmxHttpRequest) -> HttpResponse:
    """`docker login`/`tag`/`push` (and podman, skopeo, ctr) into an organization the user may
    push to: `?org=`, or by default the first one they can write to."""
    writable = organization_names_writable_by(user=request.user)
    chosen = request.GET.get("org", "")
    organization = chosen if chosen in writable else (writable[0] if writable else "")
    host = settings.REGISTRY_HOST
    user = request.user.get_username()
    target = f"{host}/{organization or '<organization>'}/{EXAMPLE}"
    insecure = registry_is_plain_http()
    tls = " --tls-verify=false" if insecure else ""
    commands = {
        "login": f"docker login -u {user} {host}",
        "tag": f"docker tag {EXAMPLE} {target}",
        "push": f"docker push {target}",
        "podman_login": f"podman login{tls} -u {user} {host}",
        "podman_push": f"podman push{tls} {EXAMPLE} {target}",
        "skopeo": (
            f"skopeo copy{' --dest-tls-verify=false' if insecure else ''} --dest-creds {user} "
            f"docker-archive:myimage.tar docker://{target}"
        ),
        "ctr": f"ctr image push{' --plain-http' if insecure else ''} --user {user} {target}",
    }
    context = {
        "writable": writable,
        "organization": organization,
        "insecure": insecure,
        "commands": commands,
    }
    return render(request, "dashboard/help_push.html", context)
