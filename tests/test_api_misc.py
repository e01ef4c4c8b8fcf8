"""Login commands, quotas, overview, reports and feature gates through the SWR API
(SWR-SPEC.md §2.9-§2.11): shapes as the SDK reads them, the login commands working at the token
realm, what the figures count, and the daily usage history behind the reports."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkswr.v2.model import (
    CreateAuthorizationTokenRequest,
    CreateSecretRequest,
    ListQuotasRequest,
    ShowDomainOverviewRequest,
    ShowDomainResourceReportsRequest,
    ShowShareFeatureGatesRequest,
)

from dashboard import tasks
from dashboard.auth import backends
from dashboard.models import AuditEvent, Level, LoginSecret, RepositoryUsage
from dashboard.services.credentials import (
    access_key_create,
    login_secret_revoke,
    long_term_password,
)
from dashboard.services.stats import HISTORY_DAYS, usage_snapshot
from tests.index_rows import grant_org, make_manifest, make_repository, make_tag
from tests.swr_api import Api, sdk_client, swr_error

SECRET = "/v2/manage/utils/secret"
BEARER = "/v2/manage/utils/authorizationtoken"
REALM = "/service/token"


@pytest.fixture
def api(client: Client, owner) -> Api:  # type: ignore[no-untyped-def]
    return Api(client, owner)


def _login(response: Any) -> tuple[str, str]:
    """(username, password) from the command header, checked against the body's `auths`."""
    command = response["X-Swr-Dockerlogin"].split(" ")
    assert command[:3] == ["docker", "login", "-u"] and command[4] == "-p" and len(command) == 6
    username, password = command[3], command[5]
    auths = response.json()["auths"]
    assert list(auths) == [settings.REGISTRY_HOST]
    assert base64.b64decode(auths[settings.REGISTRY_HOST]["auth"]).decode() == (
        f"{username}:{password}"
    )
    return username, password


def _realm(username: str, password: str) -> int:
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    response = Client().get(
        REALM, {"service": settings.TOKEN_SERVICE}, headers={"Authorization": f"Basic {basic}"}
    )
    return response.status_code


def _expires(response: Any) -> dt.datetime:
    text = response["X-Swr-Expireat"]
    assert text.endswith("Z")
    return dt.datetime.fromisoformat(text)


# -- temporary login commands ----------------------------------------------------------------


def test_the_secret_is_a_docker_login_for_the_caller_valid_a_day(api: Api, owner) -> None:  # type: ignore[no-untyped-def]
    before = timezone.now()
    response = api.post(SECRET)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    username, password = _login(response)
    region, _, key_id = username.partition("@")
    assert region == settings.REGION
    secret = LoginSecret.objects.get(key_id=key_id)
    assert secret.user == owner
    assert _expires(response) == secret.expires_at.replace(
        microsecond=secret.expires_at.microsecond // 1000 * 1000
    )
    assert dt.timedelta(hours=24) <= secret.expires_at - before < dt.timedelta(hours=24, seconds=5)
    assert _realm(username, password) == 200
    assert _realm(username, password + "x") == 401
    traced = AuditEvent.objects.get(action="createDockerConfig")
    assert (traced.resource_name, traced.actor) == (username, owner)


def test_duration_and_project_name(api: Api) -> None:
    response = api.post(f"{SECRET}?duration_seconds=900&projectname={settings.REGION}")
    assert response.status_code == 200
    lasts = _expires(response) - timezone.now()
    assert dt.timedelta(minutes=14) < lasts <= dt.timedelta(minutes=15)
    assert api.post(f"{SECRET}?duration_seconds=86400").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "duration_seconds=899",
        "duration_seconds=86401",
        "duration_seconds=-5",
        "duration_seconds=abc",
        "duration_seconds=1e3",
        "duration_seconds=99999999999999999999999",
        "projectname=eu-de",
    ],
)
def test_invalid_queries_are_400_and_create_nothing(api: Api, query: str) -> None:
    assert swr_error(api.post(f"{SECRET}?{query}")) == (400, "SVCSTG.SWR.4000014")
    assert not LoginSecret.objects.exists()
    refused = AuditEvent.objects.get(action="createDockerConfig", result="failure")
    assert refused.detail["code"] == "SVCSTG.SWR.4000014"


def test_login_commands_need_credentials(client: Client, db: None) -> None:
    assert swr_error(Api(client).post(SECRET)) == (401, "SVCSTG.SWR.4010000")
    assert swr_error(Api(client).post(BEARER)) == (401, "SVCSTG.SWR.4010000")
    assert not LoginSecret.objects.exists()


def test_the_enhanced_command_is_a_bearertoken_login_at_the_realm(api: Api, owner) -> None:  # type: ignore[no-untyped-def]
    response = api.post(BEARER)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    username, password = _login(response)
    prefix, _, key_id = username.partition("@")
    assert prefix == "bearertoken"
    secret = LoginSecret.objects.get(key_id=key_id, user=owner)
    assert dt.timedelta(hours=23) < secret.expires_at - timezone.now() <= dt.timedelta(hours=24)
    assert _realm(username, password) == 200
    assert _realm(username, password[:-1]) == 401
    login_secret_revoke(secret=secret)
    assert _realm(username, password) == 401
    short = api.post(f"{BEARER}?duration_seconds=900")
    assert _expires(short) - timezone.now() <= dt.timedelta(minutes=15)
    assert swr_error(api.post(f"{BEARER}?duration_seconds=60")) == (400, "SVCSTG.SWR.4000014")


def test_bearertoken_names_login_secrets_only(owner) -> None:  # type: ignore[no-untyped-def]
    key, secret_key = access_key_create(user=owner)
    password = long_term_password(key.access_key, secret_key)
    assert _realm(f"{settings.REGION}@{key.access_key}", password) == 200
    assert _realm(f"bearertoken@{key.access_key}", password) == 401
    assert _realm(f"elsewhere@{key.access_key}", password) == 401


@override_settings(TOKEN_AUTH_CACHE_SECONDS=300)
def test_an_enhanced_login_is_cached_and_its_revocation_applies_at_once(api: Api) -> None:
    username, password = _login(api.post(BEARER))
    secret = LoginSecret.objects.get(key_id=username.partition("@")[2])
    with mock.patch.object(
        backends, "login_secret_authenticate", wraps=backends.login_secret_authenticate
    ) as checked:
        assert _realm(username, password) == 200
        assert _realm(username, password) == 200
        assert checked.call_count == 1
        login_secret_revoke(secret=secret)
        assert _realm(username, password) == 401


@pytest.mark.django_db(transaction=True)
def test_the_sdk_reads_both_login_commands(live_server, make_user) -> None:  # type: ignore[no-untyped-def]
    sdk = sdk_client(live_server.url, make_user("alice"))
    for response, prefix in (
        (sdk.create_secret(CreateSecretRequest(projectname=settings.REGION)), settings.REGION),
        (sdk.create_authorization_token(CreateAuthorizationTokenRequest()), "bearertoken"),
    ):
        assert response.status_code == 200
        assert response.x_swr_dockerlogin.startswith(f"docker login -u {prefix}@")
        assert response.x_swr_expireat.endswith("Z")
        [(host, info)] = response.auths.items()
        assert host == settings.REGISTRY_HOST
        user, _, password = base64.b64decode(info.auth).decode().partition(":")
        assert response.x_swr_dockerlogin == f"docker login -u {user} -p {password}"
        assert _realm(user, password) == 200
    with pytest.raises(ClientRequestException) as refused:
        sdk.create_secret(CreateSecretRequest(projectname="eu-de"))
    assert (refused.value.status_code, refused.value.error_code) == (400, "SVCSTG.SWR.4000014")


# -- quotas ----------------------------------------------------------------------------------

QUOTAS = f"/v2/manage/projects/{settings.REGION}/quotas"


@override_settings(ORG_QUOTA=3)
def test_the_quota_counts_the_organizations_the_caller_created(
    api: Api, make_org, owner, outsider
) -> None:  # type: ignore[no-untyped-def]
    assert api.get(QUOTAS).json() == {
        "quotas": [{"quota_key": "namespace", "quota_limit": 3, "used": 0, "unit": ""}]
    }
    make_org("mine", creator=owner)
    make_org("theirs", creator=outsider)
    response = api.get(QUOTAS)
    assert response.status_code == 200
    assert response.json()["quotas"][0]["used"] == 1


def test_administrators_have_no_limit(client: Client, make_org, admin_user) -> None:  # type: ignore[no-untyped-def]
    make_org("ops", creator=admin_user)
    quota = Api(client, admin_user).get(QUOTAS).json()["quotas"][0]
    assert (quota["quota_limit"], quota["used"]) == (-1, 1)


def test_another_project_is_404_and_credentials_are_needed(client: Client, api: Api) -> None:
    assert swr_error(api.get("/v2/manage/projects/eu-de/quotas")) == (404, "SVCSTG.SWR.4040083")
    assert swr_error(api.get("/v2/manage/projects/eu-de/feature-gates")) == (
        404,
        "SVCSTG.SWR.4040083",
    )
    anonymous = Api(client)
    for path in (QUOTAS, "/v2/manage/overview", "/v2/manage/reports/store/daily", GATES):
        assert swr_error(anonymous.get(path)) == (401, "SVCSTG.SWR.4010000")


# -- overview --------------------------------------------------------------------------------


@pytest.fixture
def images(make_org, owner, outsider):  # type: ignore[no-untyped-def]
    """The owner's `team-a/app` (three tags on two manifests of 1000 and 3000 bytes) and
    `team-a/empty`; an outsider's private `other/secret` (one 7000-byte tag)."""
    org = make_org("team-a", creator=owner)
    app = make_repository(org, "app")
    small, big = make_manifest(app, size=1000), make_manifest(app, size=3000)
    make_tag(app, "v1", small)
    make_tag(app, "latest", small)
    make_tag(app, "v2", big)
    make_repository(org, "empty")
    secret = make_repository(make_org("other", creator=outsider), "secret")
    make_tag(secret, "v1", make_manifest(secret, size=7000))
    app.refresh_from_db()
    secret.refresh_from_db()
    return app, secret


def test_the_overview_counts_what_the_caller_can_see(api: Api, owner, images) -> None:  # type: ignore[no-untyped-def]
    app, secret = images
    type(app).objects.filter(pk=app.pk).update(num_download=4)
    type(app).objects.filter(pk=secret.pk).update(num_download=10)
    response = api.get("/v2/manage/overview")
    assert response.status_code == 200
    assert response.json() == {
        "domain_id": str(owner.pk),
        "domain_name": "owner",
        "namspace_num": 1,
        "repo_num": 2,
        "image_num": 3,
        "store_space": 4000.0,
        # Four pulls of an average image of app: 4000 bytes / 2 manifests.
        "downflow_size": 8000.0,
    }


def test_an_administrator_sees_everything(client: Client, admin_user, images) -> None:  # type: ignore[no-untyped-def]
    app, secret = images
    type(app).objects.filter(pk=secret.pk).update(num_download=2)
    body = Api(client, admin_user).get("/v2/manage/overview").json()
    assert (body["namspace_num"], body["repo_num"], body["image_num"]) == (2, 3, 4)
    assert (body["store_space"], body["downflow_size"]) == (11000.0, 14000.0)


def test_the_overview_costs_the_same_queries_whatever_there_is(api: Api, owner, images) -> None:  # type: ignore[no-untyped-def]
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/v2/manage/overview").status_code == 200
        return len(queries)

    count()  # the token's first use is recorded once
    few = count()
    app, _ = images
    for i in range(10):
        repo = make_repository(app.organization, f"more-{i}")
        make_tag(repo, "v1", make_manifest(repo, size=100 + i))
    assert count() == few


# -- reports ---------------------------------------------------------------------------------

NOW = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY, YESTERDAY = NOW.date(), NOW.date() - dt.timedelta(days=1)


def _pull(repository: str, at: dt.datetime, times: int = 1) -> None:
    for _ in range(times):
        AuditEvent.objects.create(
            action="downloadImage",
            resource_type="images",
            resource_name=repository,
            created_at=at,
        )


def _report(api: Api, kind: str) -> list[tuple[str, float]]:
    response = api.get(f"/v2/manage/reports/{kind}/daily")
    assert response.status_code == 200
    return [(point["date"], point["value"]) for point in response.json()]


@pytest.fixture
def history(images) -> Any:  # type: ignore[no-untyped-def]
    """Measured yesterday noon and today noon; app grew a 5000-byte image in between."""
    app, _ = images
    _pull("team-a/app", NOW - dt.timedelta(days=1, hours=3), times=2)
    _pull("other/secret", NOW - dt.timedelta(days=1, hours=1))
    with mock.patch("django.utils.timezone.now", return_value=NOW - dt.timedelta(days=1)):
        usage_snapshot()
    _pull("team-a/app", NOW - dt.timedelta(hours=13))  # late yesterday, after its measurement
    make_tag(app, "v3", make_manifest(app, size=5000))
    _pull("team-a/app", NOW - dt.timedelta(hours=2), times=3)
    _pull("team-a/gone", NOW - dt.timedelta(hours=2))  # a repository that no longer exists
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        written = usage_snapshot()
    return written


def test_store_and_downflow_are_daily_over_what_the_caller_can_see(api: Api, history) -> None:
    assert history == 3
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        store = _report(api, "store")
        downflow = _report(api, "downflow")
    assert store == [(YESTERDAY.isoformat(), 4000.0), (TODAY.isoformat(), 9000.0)]
    # Yesterday: 3 pulls (one after its measurement) of a 2000-byte average image; today: 3
    # pulls of a 3000-byte one (9000 bytes / 3 manifests).
    assert downflow == [(YESTERDAY.isoformat(), 6000.0), (TODAY.isoformat(), 9000.0)]


def test_an_administrator_reports_every_repository(client: Client, admin_user, history) -> None:  # type: ignore[no-untyped-def]
    admin = Api(client, admin_user)
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        assert _report(admin, "store") == [
            (YESTERDAY.isoformat(), 11000.0),
            (TODAY.isoformat(), 16000.0),
        ]
        assert _report(admin, "downflow")[0] == (YESTERDAY.isoformat(), 13000.0)


def test_a_user_who_sees_nothing_gets_an_empty_report(client: Client, history, make_user) -> None:  # type: ignore[no-untyped-def]
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        assert _report(Api(client, make_user("nobody")), "store") == []


def test_the_snapshot_converges_and_forgets_old_days(images) -> None:  # type: ignore[no-untyped-def]
    app, _ = images
    old = TODAY - dt.timedelta(days=HISTORY_DAYS + 1)
    RepositoryUsage.objects.create(repository=app, date=old, measured_at=NOW)
    kept = TODAY - dt.timedelta(days=HISTORY_DAYS)
    RepositoryUsage.objects.create(repository=app, date=kept, measured_at=NOW)
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        usage_snapshot()
        first = list(RepositoryUsage.objects.filter(date=TODAY).values_list("pk", "size"))
        usage_snapshot()
    assert list(RepositoryUsage.objects.filter(date=TODAY).values_list("pk", "size")) == first
    assert sorted(set(RepositoryUsage.objects.values_list("date", flat=True))) == [kept, TODAY]


def test_days_without_a_measurement_are_left_out(api: Api, images) -> None:  # type: ignore[no-untyped-def]
    with mock.patch("django.utils.timezone.now", return_value=NOW - dt.timedelta(days=3)):
        usage_snapshot()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        usage_snapshot()
        dates = [day for day, _ in _report(api, "store")]
    assert dates == [(TODAY - dt.timedelta(days=3)).isoformat(), TODAY.isoformat()]


@pytest.mark.parametrize("path", ["store/weekly", "upflow/daily", "downflow/monthly"])
def test_unknown_report_kinds_are_400(api: Api, path: str) -> None:
    assert swr_error(api.get(f"/v2/manage/reports/{path}")) == (400, "SVCSTG.SWR.4000014")


def test_the_report_costs_the_same_queries_whatever_there_is(api: Api, images, owner) -> None:  # type: ignore[no-untyped-def]
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/v2/manage/reports/downflow/daily").status_code == 200
        return len(queries)

    usage_snapshot()
    count()  # the token's first use is recorded once
    few = count()
    app, _ = images
    for i in range(10):
        make_repository(app.organization, f"more-{i}")
    for days in range(5):
        with mock.patch(
            "django.utils.timezone.now", return_value=timezone.now() - dt.timedelta(days=days)
        ):
            usage_snapshot()
    assert count() == few


def test_beat_takes_a_snapshot_every_hour(images) -> None:  # type: ignore[no-untyped-def]
    entry = settings.CELERY_BEAT_SCHEDULE["usage-snapshot"]
    assert (entry["task"], entry["schedule"]) == (tasks.usage_snapshot_scheduled.name, 3600.0)
    assert tasks.usage_snapshot_scheduled() == 3
    assert RepositoryUsage.objects.count() == 3


# -- feature gates ---------------------------------------------------------------------------

GATES = f"/v2/manage/projects/{settings.REGION}/feature-gates"


def test_the_feature_gates_say_what_berth_does(api: Api) -> None:
    response = api.get(GATES)
    assert response.status_code == 200
    gates = response.json()
    v3_served = swr_error_or_none(api.get("/v3/manage/repos")) != (404, "SVCSTG.SWR.4040083")
    assert gates == {
        "enable_experience": False,
        "enable_hss_service": False,
        "enable_image_scan": False,
        "enable_sm3": False,
        "enable_image_sync": True,
        "enable_cci_service": False,
        "enable_image_label": False,
        "enable_pipeline": False,
        "enable_authorization_token": True,
        "enable_resource": False,
        "enable_list_v3": v3_served,
        "enable_image_quota": False,
    }


def swr_error_or_none(response: Any) -> tuple[int, str] | None:
    return swr_error(response) if response.status_code >= 400 else None


# -- the official SDK ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sdk_reads_quotas_overview_reports_and_gates(live_server, make_org, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    org = make_org("sdk-misc", creator=alice)
    grant_org(org, make_user("bob"), Level.READ)
    repo = make_repository(org, "app")
    make_tag(repo, "v1", make_manifest(repo, size=1234))
    Group.objects.create(name="unused")
    usage_snapshot()
    sdk = sdk_client(live_server.url, alice)

    [quota] = sdk.list_quotas(ListQuotasRequest()).quotas
    assert (quota.quota_key, quota.quota_limit, quota.used) == ("namespace", settings.ORG_QUOTA, 1)
    overview = sdk.show_domain_overview(ShowDomainOverviewRequest())
    assert (overview.domain_name, overview.namspace_num, overview.repo_num) == ("alice", 1, 1)
    assert (overview.image_num, overview.store_space) == (1, 1234)
    [point] = sdk.show_domain_resource_reports(
        ShowDomainResourceReportsRequest(resource_type="store", frequency="daily")
    ).body
    assert (point.date, point.value) == (timezone.now().date().isoformat(), 1234)
    gates = sdk.show_share_feature_gates(ShowShareFeatureGatesRequest())
    assert (gates.enable_image_sync, gates.enable_image_scan) == (True, False)
