"""The SWR API's routes (SWR-SPEC.md §2.15). Paths have no trailing slash, as SWR's; a
repository name is one segment with `$` for each `/`."""

from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularJSONAPIView

from dashboard.api.base import ApiVersionConverter, SwrRepositoryConverter
from dashboard.api.views import (
    misc,
    namespaces,
    permissions,
    repositories,
    retention,
    sharing,
    sync,
    tags,
    triggers,
    v3,
    versions,
)

register_converter(SwrRepositoryConverter, "swr_repo")
register_converter(ApiVersionConverter, "swr_version")

M = "v2/manage"
NS = f"{M}/namespaces/<str:namespace>"
REPO = f"{NS}/repos/<swr_repo:repository>"

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # `/` is SWR's version list for API clients and the overview page for browsers.
    path("", versions.ApiVersionsView.as_view(), name="api-versions"),
    path("api/openapi.json", SpectacularJSONAPIView.as_view(), name="api-schema-json"),
    # `/v2` without a slash: behind the proxy `/v2/` is the registry's.
    path("<swr_version:api_version>", versions.ApiVersionView.as_view(), name="api-version"),
    # -- namespaces --
    path(f"{M}/namespaces", namespaces.NamespaceListView.as_view(), name="api-namespaces"),
    path(NS, namespaces.NamespaceDetailView.as_view(), name="api-namespace"),
    # -- permissions --
    path(f"{NS}/access", permissions.NamespaceAccessView.as_view(), name="api-namespace-access"),
    path(f"{REPO}/access", permissions.RepositoryAccessView.as_view(), name="api-repo-access"),
    # -- repositories and tags --
    path(f"{NS}/repos", repositories.RepositoryCreateView.as_view(), name="api-repos-create"),
    path(REPO, repositories.RepositoryDetailView.as_view(), name="api-repo"),
    path(f"{M}/repos", repositories.RepositoryListView.as_view(), name="api-repos"),
    path(
        f"{M}/shared-repositories",
        repositories.SharedRepositoryListView.as_view(),
        name="api-shared-repos",
    ),
    path(f"{REPO}/tags", tags.TagListView.as_view(), name="api-tags"),
    path(f"{REPO}/tags/<str:tag>", tags.TagDetailView.as_view(), name="api-tag"),
    # ({tag}/accessories and {tag}/references are last, under v3: see there.)
    # -- sharing --
    # SWR's sharing paths say `repositories`, not `repos`.
    path(
        f"{NS}/repositories/<swr_repo:repository>/access-domains",
        sharing.RepoDomainsView.as_view(),
        name="api-access-domains",
    ),
    path(
        f"{NS}/repositories/<swr_repo:repository>/access-domains/<str:access_domain>",
        sharing.RepoDomainView.as_view(),
        name="api-access-domain",
    ),
    # -- retention --
    # `histories` before `{retention_id}`, which is a whole number.
    path(f"{REPO}/retentions", retention.RetentionListView.as_view(), name="api-retentions"),
    path(
        f"{REPO}/retentions/histories",
        retention.RetentionHistoryView.as_view(),
        name="api-retention-histories",
    ),
    path(
        f"{REPO}/retentions/<int:retention_id>",
        retention.RetentionDetailView.as_view(),
        name="api-retention",
    ),
    # -- triggers --
    path(f"{REPO}/triggers", triggers.TriggerListView.as_view(), name="api-triggers"),
    path(
        f"{REPO}/triggers/<str:trigger>",
        triggers.TriggerDetailView.as_view(),
        name="api-trigger",
    ),
    # -- sync --
    path(f"{REPO}/sync_repo", sync.SyncRepoView.as_view(), name="api-sync-repo"),
    path(f"{REPO}/sync_images", sync.SyncImagesView.as_view(), name="api-sync-images"),
    path(f"{REPO}/sync_job", sync.SyncJobView.as_view(), name="api-sync-job"),
    path(f"{M}/regions", sync.RegionListView.as_view(), name="api-regions"),
    # -- login commands, quotas, overview, reports, feature gates --
    path(f"{M}/utils/secret", misc.SecretView.as_view(), name="api-secret"),
    path(
        f"{M}/utils/authorizationtoken",
        misc.AuthorizationTokenView.as_view(),
        name="api-authorization-token",
    ),
    path(f"{M}/projects/<str:project_id>/quotas", misc.QuotasView.as_view(), name="api-quotas"),
    path(f"{M}/overview", misc.OverviewView.as_view(), name="api-overview"),
    path(
        f"{M}/reports/<str:resource_type>/<str:frequency>",
        misc.ReportsView.as_view(),
        name="api-reports",
    ),
    path(
        f"{M}/projects/<str:project_id>/feature-gates",
        misc.FeatureGatesView.as_view(),
        name="api-feature-gates",
    ),
    # -- v3 lists --
    path("v3/manage/repos", v3.RepositoryListV3View.as_view(), name="api-v3-repos"),
    path(
        "v3/manage/shared-repositories",
        v3.SharedRepositoryListV3View.as_view(),
        name="api-v3-shared-repos",
    ),
    path(
        "v3/manage/namespaces/<str:namespace>/repos/<swr_repo:repository>/tags",
        v3.TagListV3View.as_view(),
        name="api-v3-tags",
    ),
    # SWR's `{repository}/{tag}/accessories|references` come after every other route, so a
    # tag named `triggers` or `tags` never shadows `triggers/{name}` or `tags/{tag}`.
    path(f"{REPO}/<str:tag>/accessories", tags.AccessoryListView.as_view(), name="api-accessories"),
    path(f"{REPO}/<str:tag>/references", tags.ReferenceListView.as_view(), name="api-references"),
]
