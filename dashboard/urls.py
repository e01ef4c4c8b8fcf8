"""Dashboard pages (ARCHITECTURE.md §6). A repository name may contain `/`, so `-` separates it
from what follows: no segment of a valid repository name is `-`."""

from django.urls import path, register_converter

from dashboard.views import access_requests as request_views
from dashboard.views import (
    account,
    audit,
    jobs,
    organizations,
    pages,
    repositories,
    retention,
    tags,
)
from dashboard.views import help as help_views
from dashboard.views import permissions as permission_views
from dashboard.views import registries as registry_views
from dashboard.views import sharing as sharing_views
from dashboard.views import sync as sync_views
from dashboard.views import teams as team_views
from dashboard.views import triggers as trigger_views
from dashboard.views import users as user_views


class OrganizationNameConverter:
    regex = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class RepositoryNameConverter(OrganizationNameConverter):
    regex = r"[a-z0-9]+(?:(?:[._/]|__|-+)[a-z0-9]+)*"


class TagNameConverter(OrganizationNameConverter):
    regex = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"


class DigestConverter(OrganizationNameConverter):
    regex = r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"


class TeamNameConverter(OrganizationNameConverter):
    # Wider than the names Berth creates: a group made in /admin/ may hold spaces or capitals,
    # and its links must still resolve.
    regex = r"[^/]{1,150}"


register_converter(OrganizationNameConverter, "berth_org")
register_converter(TeamNameConverter, "berth_team")
register_converter(RepositoryNameConverter, "berth_repo")
register_converter(TagNameConverter, "berth_tag")
register_converter(DigestConverter, "berth_digest")

app_name = "dashboard"

REPO = "repos/<berth_org:org>/<berth_repo:repo>"

urlpatterns = [
    path("", pages.overview, name="overview"),
    path("orgs/", organizations.organization_list, name="organization-list"),
    path("orgs/<berth_org:org>/", organizations.organization_detail, name="organization-detail"),
    path(
        "orgs/<berth_org:org>/delete/",
        organizations.organization_delete_view,
        name="organization-delete",
    ),
    path(
        "orgs/<berth_org:org>/permissions/",
        permission_views.organization_permissions,
        name="organization-permissions",
    ),
    path(
        "orgs/<berth_org:org>/permissions/<int:pk>/",
        permission_views.organization_permission_update,
        name="organization-permission-update",
    ),
    path(
        "orgs/<berth_org:org>/permissions/<int:pk>/revoke/",
        permission_views.organization_permission_revoke,
        name="organization-permission-revoke",
    ),
    path("repos/", repositories.repository_list, name="repository-list"),
    path("repos/-/reconcile/", repositories.reconcile_start_view, name="reconcile-start"),
    path(f"{REPO}/", repositories.repository_detail, name="repository-detail"),
    path(f"{REPO}/-/edit/", repositories.repository_edit, name="repository-edit"),
    path(f"{REPO}/-/delete/", repositories.repository_delete_view, name="repository-delete"),
    path(f"{REPO}/-/delete-tags/", tags.tag_delete, name="tag-delete"),
    path(f"{REPO}/-/tags/<berth_tag:tag>/", tags.tag_detail, name="tag-detail"),
    path(
        f"{REPO}/-/manifests/<berth_digest:digest>/", tags.manifest_detail, name="manifest-detail"
    ),
    path(
        f"{REPO}/-/manifests/<berth_digest:digest>/delete/",
        tags.manifest_delete_view,
        name="manifest-delete",
    ),
    path(
        f"{REPO}/-/permissions/",
        permission_views.repository_permissions,
        name="repository-permissions",
    ),
    path(
        f"{REPO}/-/permissions/<int:pk>/",
        permission_views.repository_permission_update,
        name="repository-permission-update",
    ),
    path(
        f"{REPO}/-/permissions/<int:pk>/revoke/",
        permission_views.repository_permission_revoke,
        name="repository-permission-revoke",
    ),
    path(f"{REPO}/-/sharing/", sharing_views.repository_sharing, name="repository-sharing"),
    path(
        f"{REPO}/-/sharing/<int:pk>/",
        sharing_views.repository_share_update,
        name="repository-share-update",
    ),
    path(
        f"{REPO}/-/sharing/<int:pk>/delete/",
        sharing_views.repository_share_delete,
        name="repository-share-delete",
    ),
    path("teams/", team_views.team_list, name="team-list"),
    path("teams/<berth_team:team>/", team_views.team_detail, name="team-detail"),
    path("teams/<berth_team:team>/delete/", team_views.team_delete_view, name="team-delete"),
    path(
        "teams/<berth_team:team>/<str:role>/add/",
        team_views.team_user_add,
        name="team-user-add",
    ),
    path(
        "teams/<berth_team:team>/<str:role>/remove/",
        team_views.team_user_remove,
        name="team-user-remove",
    ),
    path("help/push/", help_views.push_help, name="push-help"),
    path("api/", help_views.api_docs, name="api-docs"),
    path("jobs/", jobs.job_list, name="job-list"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job-detail"),
    path("jobs/<int:pk>/cancel/", jobs.job_cancel_view, name="job-cancel"),
    path(f"{REPO}/-/jobs/", jobs.repository_jobs, name="repository-jobs"),
    # -- users --
    path("users/", user_views.user_list_view, name="user-list"),
    path("users/<str:username>/", user_views.user_detail, name="user-detail"),
    path("users/<str:username>/active/", user_views.user_active, name="user-active"),
    path("users/<str:username>/admin/", user_views.user_admin, name="user-admin"),
    path("users/<str:username>/password/", user_views.user_password, name="user-password"),
    path("users/<str:username>/delete/", user_views.user_delete_view, name="user-delete"),
    # -- retention --
    path(f"{REPO}/-/retention/", retention.repository_retention, name="repository-retention"),
    path(
        f"{REPO}/-/retention/preview/",
        retention.repository_retention_preview,
        name="repository-retention-preview",
    ),
    path(
        f"{REPO}/-/retention/save/",
        retention.repository_retention_save,
        name="repository-retention-save",
    ),
    path(
        f"{REPO}/-/retention/run/",
        retention.repository_retention_run,
        name="repository-retention-run",
    ),
    path(
        f"{REPO}/-/retention/delete/",
        retention.repository_retention_delete,
        name="repository-retention-delete",
    ),
    # -- sync --
    path(f"{REPO}/-/sync/", sync_views.repository_sync, name="repository-sync"),
    path(
        f"{REPO}/-/sync/rules/",
        sync_views.sync_rule_create_view,
        name="repository-sync-rule-create",
    ),
    path(
        f"{REPO}/-/sync/rules/<int:pk>/delete/",
        sync_views.sync_rule_delete_view,
        name="repository-sync-rule-delete",
    ),
    path(f"{REPO}/-/sync/run/", sync_views.sync_images_view, name="repository-sync-run"),
    path(f"{REPO}/-/sync/jobs/<int:pk>/", sync_views.sync_batch, name="repository-sync-batch"),
    path("registries/", registry_views.remote_registry_list_view, name="remote-registry-list"),
    path(
        "registries/<int:pk>/",
        registry_views.remote_registry_edit,
        name="remote-registry-edit",
    ),
    path(
        "registries/<int:pk>/test/",
        registry_views.remote_registry_test_view,
        name="remote-registry-test",
    ),
    path(
        "registries/<int:pk>/delete/",
        registry_views.remote_registry_delete_view,
        name="remote-registry-delete",
    ),
    # -- triggers --
    path(f"{REPO}/-/triggers/", trigger_views.repository_triggers, name="repository-triggers"),
    path(
        f"{REPO}/-/triggers/<str:name>/",
        trigger_views.repository_trigger_update,
        name="repository-trigger-update",
    ),
    path(
        f"{REPO}/-/triggers/<str:name>/enable/",
        trigger_views.repository_trigger_enable,
        name="repository-trigger-enable",
    ),
    path(
        f"{REPO}/-/triggers/<str:name>/delete/",
        trigger_views.repository_trigger_delete,
        name="repository-trigger-delete",
    ),
    path(
        f"{REPO}/-/triggers/<str:name>/test/",
        trigger_views.repository_trigger_test,
        name="repository-trigger-test",
    ),
    path(
        f"{REPO}/-/triggers/<str:name>/deliveries/",
        trigger_views.repository_trigger_deliveries,
        name="repository-trigger-deliveries",
    ),
    path("audit/", audit.audit_list, name="audit-list"),
    path("requests/", request_views.access_request_list, name="access-requests"),
    path("requests/new/", request_views.access_request_new, name="access-request-new"),
    path(
        "requests/<int:pk>/approve/",
        request_views.access_request_approve_view,
        name="access-request-approve",
    ),
    path(
        "requests/<int:pk>/deny/",
        request_views.access_request_deny_view,
        name="access-request-deny",
    ),
    path(
        "requests/<int:pk>/cancel/",
        request_views.access_request_cancel_view,
        name="access-request-cancel",
    ),
    path("account/", account.account, name="account"),
    path("account/login-commands/", account.login_commands, name="account-login-commands"),
    path(
        "account/login-commands/<int:pk>/revoke/",
        account.login_secret_revoke_view,
        name="account-login-secret-revoke",
    ),
    path("account/access-keys/", account.access_keys, name="account-access-keys"),
    path(
        "account/access-keys/<int:pk>/active/",
        account.access_key_active_view,
        name="account-access-key-active",
    ),
    path(
        "account/access-keys/<int:pk>/delete/",
        account.access_key_delete_view,
        name="account-access-key-delete",
    ),
    path("account/api-tokens/", account.api_tokens, name="account-api-tokens"),
    path(
        "account/api-tokens/<int:pk>/revoke/",
        account.api_token_revoke_view,
        name="account-api-token-revoke",
    ),
]
