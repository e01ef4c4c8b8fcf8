"""The Retention tab: who sees what, preview before save, save/run/delete through the page, SWR's
codes on bad rules, and a page cost that does not grow with the logs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dashboard.models import Job, Level, RetentionLog, RetentionPolicy
from dashboard.services.errors import INVALID_PARAMETERS, PREFIX
from tests.index_rows import grant_org, make_repository, make_tag
from tests.pages import HTMX

URL = "/repos/retpage/app/-/retention/"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture
def repo(owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("retpage", creator=owner)
    grant_org(organization, reader, Level.READ)
    repository = make_repository(organization, "app")
    for hours, name in enumerate(("v1", "v2", "latest", "v3")):
        make_tag(repository, name, pushed_at=NOW + dt.timedelta(hours=hours))
    return repository


def _rule(value: str = "1", exact: str = "latest", regexes: str = "") -> dict[str, str]:
    return {"template": "tag_rule", "value": value, "exact_tags": exact, "regexes": regexes}


def test_an_outsider_gets_404_everywhere(client: Client, repo, outsider) -> None:  # type: ignore[no-untyped-def]
    client.force_login(outsider)
    assert client.get(URL).status_code == 404
    for action in ("preview/", "save/", "run/", "delete/"):
        assert client.post(URL + action, _rule()).status_code == 404
    assert not RetentionPolicy.objects.exists()


def test_a_reader_sees_the_policy_and_logs_but_changes_nothing(
    client: Client, repo, owner, reader
) -> None:  # type: ignore[no-untyped-def]
    policy = RetentionPolicy.objects.create(repository=repo, template="tag_rule", value=3)
    RetentionLog.objects.create(
        retention_id=policy.pk,
        repository=repo,
        namespace="retpage",
        repo="app",
        tag="gone-1",
        rule_type="{}",
    )
    client.force_login(reader)
    page = client.get(URL)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Keep the 3 most recently pushed tags." in body
    assert 'data-log-tag="gone-1"' in body
    assert 'id="retention-form"' not in body and "Run now" not in body
    for action in ("preview/", "save/", "run/", "delete/"):
        assert client.post(URL + action, _rule(), **HTMX).status_code == 403
    assert RetentionPolicy.objects.get().value == 3


def test_preview_names_what_goes_and_why_and_offers_to_save(client: Client, repo, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert 'id="retention-form"' in client.get(URL).content.decode()
    response = client.post(URL + "preview/", _rule(), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-plan-delete="2"' in body and 'data-plan-keep="2"' in body
    assert 'data-plan-tag="v2" data-plan="delete"' in body
    assert 'data-plan-tag="v1" data-plan="delete"' in body
    assert "exception: tag latest" in body
    assert 'id="retention-save"' in body and "deletes 2 tags" in body
    assert not RetentionPolicy.objects.exists()  # a preview saves nothing
    # Without JavaScript the whole page comes back with the preview in it.
    page = client.post(URL + "preview/", _rule()).content.decode()
    assert 'id="retention-form"' in page and 'data-plan-delete="2"' in page


def test_a_bad_rule_answers_with_the_swr_code_in_the_form(client: Client, repo, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    for rule in (_rule(value="0"), _rule(regexes="(oops"), {**_rule(), "template": "x"}):
        response = client.post(
            URL + "preview/", rule, **HTMX, HTTP_X_BERTH_ERROR_TARGET="#retention-error"
        )
        assert response.status_code == 400
        assert response["HX-Retarget"] == "#retention-error"
        assert PREFIX + INVALID_PARAMETERS in response.content.decode()
    assert client.post(URL + "save/", _rule(value="5000"), **HTMX).status_code == 400
    assert not RetentionPolicy.objects.exists()


def test_save_run_and_delete_through_the_page(client: Client, repo, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    saved = client.post(URL + "save/", _rule(regexes="^release-\n"), **HTMX)
    assert saved.status_code == 200 and saved["HX-Redirect"] == URL
    policy = RetentionPolicy.objects.get()
    assert (policy.template, policy.value) == ("tag_rule", 1)
    assert policy.tag_selectors == [
        {"kind": "label", "pattern": "latest"},
        {"kind": "regexp", "pattern": "^release-"},
    ]
    first = Job.objects.get(kind=Job.Kind.RETENTION)
    page = client.get(URL).content.decode()
    assert f'id="job-{first.pk}"' in page and "Run now" in page

    # Changing keeps the type whatever the form says, and runs again.
    changed = client.post(URL + "save/", {**_rule(value="2"), "template": "date_rule"}, **HTMX)
    assert changed.status_code == 200
    policy.refresh_from_db()
    assert (policy.template, policy.value) == ("tag_rule", 2)

    assert client.post(URL + "run/", **HTMX)["HX-Redirect"] == URL
    assert Job.objects.filter(kind=Job.Kind.RETENTION).count() == 3

    assert client.post(URL + "delete/", **HTMX)["HX-Redirect"] == URL
    assert not RetentionPolicy.objects.exists()
    assert client.post(URL + "run/", **HTMX).status_code == 404
    assert 'id="no-policy"' in client.get(URL).content.decode()


def test_the_tab_costs_the_same_queries_with_1_and_40_logs(client: Client, repo, owner) -> None:  # type: ignore[no-untyped-def]
    policy = RetentionPolicy.objects.create(repository=repo, template="tag_rule", value=3)
    client.force_login(owner)

    def log(n: int) -> None:
        RetentionLog.objects.bulk_create(
            RetentionLog(
                retention_id=policy.pk,
                repository=repo,
                namespace="retpage",
                repo="app",
                tag=f"t{n}-{i}",
                rule_type="{}",
            )
            for i in range(n)
        )

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    log(1)
    few = count()
    log(39)
    assert count() == few
    make_tag(repo, "more")
    assert count() == few
