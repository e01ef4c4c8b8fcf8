"""The SWR API's routes (SWR-SPEC.md §2.15). Paths have no trailing slash, as SWR's; a
repository name is one segment with `$` for each `/`."""

from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularJSONAPIView

from dashboard.api.base import ApiVersionConverter, SwrRepositoryConverter
from dashboard.api.views import namespaces, versions

register_converter(SwrRepositoryConverter, "swr_repo")
register_converter(ApiVersionConverter, "swr_version")

M = "v2/manage"
NS = f"{M}/namespaces/<str:namespace>"
REPO = f"{NS}/repos/<swr_repo:repository>"

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/openapi.json", SpectacularJSONAPIView.as_view(), name="api-schema-json"),
    # `/v2` without a slash: behind the proxy `/v2/` is the registry's.
    path("<swr_version:api_version>", versions.ApiVersionView.as_view(), name="api-version"),
    # -- namespaces --
    path(f"{M}/namespaces", namespaces.NamespaceListView.as_view(), name="api-namespaces"),
    path(NS, namespaces.NamespaceDetailView.as_view(), name="api-namespace"),
    # -- permissions --
    # -- repositories and tags --
    # -- sharing --
    # -- retention --
    # -- triggers --
    # -- sync --
    # -- login commands, quotas, overview, reports, feature gates --
    # -- v3 lists --
]
