"""Retention rules and plans as SWR has them, on index rows: validation with SWR's codes, what a
rule keeps and deletes and why, sibling tags, the bytes a plan frees, the policy's lifecycle and
when runs are queued."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.models import AuditEvent, Job, Level, Manifest, RetentionPolicy
from dashboard.services.errors import (
    FORBIDDEN_IMAGE,
    INVALID_PARAMETERS,
    INVALID_TAG,
    PREFIX,
    ServiceError,
)
from dashboard.services.pushes import TagPush
from dashboard.services.retention import (
    RetentionRule,
    Selector,
    retention_after_pushes,
    retention_plan,
    retention_policy_create,
    retention_policy_delete,
    retention_policy_fields,
    retention_policy_swr,
    retention_policy_update,
    retention_preview,
    retention_rule_describe,
    retention_rule_parse,
    retention_schedule_due,
)
from tests.index_rows import grant_org, make_index, make_manifest, make_repository, make_tag

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def repo(owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("keep", creator=owner)
    grant_org(organization, reader, Level.READ)
    return make_repository(organization, "app")


def _tags(repo, *names: str, shared: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Tags pushed one hour apart, the first named oldest; `shared` maps a tag to an earlier
    one whose manifest it points at."""
    manifests: dict[str, Manifest] = {}
    for hours, name in enumerate(names):
        other = (shared or {}).get(name)
        manifest = manifests[other] if other else make_manifest(repo, seed=f"{repo.pk}-{name}")
        manifests[name] = manifest
        make_tag(repo, name, manifest, pushed_at=NOW - dt.timedelta(hours=len(names) - hours))


def _code(exc: pytest.ExceptionInfo[ServiceError]) -> tuple[str, int]:
    return exc.value.code, exc.value.status


# -- rules -----------------------------------------------------------------------------------------


def test_a_rule_takes_swr_string_params_and_exceptions() -> None:
    rule = retention_rule_parse(
        template="tag_rule",
        value="10",
        tag_selectors=[
            {"kind": "label", "pattern": "latest"},
            {"kind": "regexp", "pattern": "^release-"},
            {"kind": "label", "pattern": "latest"},  # repeated: kept once
        ],
    )
    assert rule == RetentionRule(
        "tag_rule", 10, (Selector("label", "latest"), Selector("regexp", "^release-"))
    )
    assert rule.as_swr() == {
        "template": "tag_rule",
        "params": {"num": "10"},
        "tag_selectors": [
            {"kind": "label", "pattern": "latest"},
            {"kind": "regexp", "pattern": "^release-"},
        ],
    }
    days = retention_rule_parse(template="date_rule", value=30, tag_selectors=None)
    assert days.params == {"days": "30"} and days.selectors == ()


@pytest.mark.parametrize(
    ("template", "value", "selectors", "code"),
    [
        ("size_rule", "5", [], INVALID_PARAMETERS),
        ("tag_rule", "0", [], INVALID_PARAMETERS),
        ("tag_rule", "1001", [], INVALID_PARAMETERS),
        ("date_rule", "366", [], INVALID_PARAMETERS),
        ("date_rule", "-3", [], INVALID_PARAMETERS),
        ("date_rule", "3.5", [], INVALID_PARAMETERS),
        ("date_rule", True, [], INVALID_PARAMETERS),
        ("tag_rule", None, [], INVALID_PARAMETERS),
        ("tag_rule", "5", "latest", INVALID_PARAMETERS),
        ("tag_rule", "5", [{"kind": "glob", "pattern": "v*"}], INVALID_PARAMETERS),
        ("tag_rule", "5", [{"kind": "regexp", "pattern": "(unclosed"}], INVALID_PARAMETERS),
        ("tag_rule", "5", [{"kind": "regexp", "pattern": " "}], INVALID_PARAMETERS),
        ("tag_rule", "5", [{"kind": "regexp", "pattern": "x" * 256}], INVALID_PARAMETERS),
        ("tag_rule", "5", [{"kind": "label", "pattern": "bad tag!"}], INVALID_TAG),
        ("tag_rule", "5", [{"kind": "label", "pattern": "v1"}] * 101, INVALID_PARAMETERS),
    ],
)
def test_invalid_rules_are_refused_with_swr_codes(
    template: object, value: object, selectors: object, code: str
) -> None:
    with pytest.raises(ServiceError) as exc:
        retention_rule_parse(template=template, value=value, tag_selectors=selectors)
    assert _code(exc) == (PREFIX + code, 400)


def test_a_logged_rule_reads_as_words() -> None:
    logged = (
        '{"template":"tag_rule","params":{"num":"7"},"tag_selectors":'
        '[{"kind":"label","pattern":"latest"},{"kind":"regexp","pattern":"^rc"}]}'
    )
    assert retention_rule_describe(logged) == (
        "Keep the 7 most recently pushed tags; never delete latest, /^rc/."
    )
    days = '{"template":"date_rule","params":{"days":"1"},"tag_selectors":[]}'
    assert retention_rule_describe(days) == "Keep tags pushed within the last 1 day."
    assert retention_rule_describe("not json") == "not json"


def test_the_boundaries_are_accepted() -> None:
    for template, value in (
        ("date_rule", 1),
        ("date_rule", 365),
        ("tag_rule", 1),
        ("tag_rule", 1000),
    ):
        assert retention_rule_parse(template=template, value=value, tag_selectors=[]).value == value


def test_swr_s_policy_body_gives_the_rule_s_fields() -> None:
    selectors = [{"kind": "label", "pattern": "latest"}]
    rule = {"template": "tag_rule", "params": {"num": "7"}, "tag_selectors": selectors}
    assert retention_policy_fields(algorithm="or", rules=[rule]) == {
        "template": "tag_rule",
        "value": "7",
        "tag_selectors": selectors,
    }
    days = {"template": "date_rule", "params": {"days": 30}}
    assert retention_policy_fields(algorithm="or", rules=[days]) == {
        "template": "date_rule",
        "value": 30,
        "tag_selectors": None,
    }
    # An unknown template passes through for retention_rule_parse to refuse with its message.
    odd = retention_policy_fields(algorithm="or", rules=[{"template": "size_rule"}])
    assert odd == {"template": "size_rule", "value": None, "tag_selectors": None}


@pytest.mark.parametrize(
    ("algorithm", "rules"),
    [
        ("and", [{"template": "tag_rule", "params": {"num": "1"}}]),
        (None, [{"template": "tag_rule", "params": {"num": "1"}}]),
        ("or", []),
        ("or", {"template": "tag_rule", "params": {"num": "1"}}),
        ("or", [{"template": "tag_rule", "params": {"num": "1"}}] * 2),
        ("or", ["tag_rule"]),
        ("or", [{"template": "tag_rule", "params": {"days": "1"}}]),
        ("or", [{"template": "date_rule", "params": {"num": "1"}}]),
        ("or", [{"template": "date_rule", "params": "1"}]),
        ("or", [{"template": "date_rule"}]),
    ],
)
def test_a_malformed_policy_body_is_400_with_4000014(algorithm: object, rules: object) -> None:
    with pytest.raises(ServiceError) as exc:
        retention_policy_fields(algorithm=algorithm, rules=rules)
    assert _code(exc) == (PREFIX + INVALID_PARAMETERS, 400)


# -- plans -----------------------------------------------------------------------------------------


def test_tag_rule_keeps_the_most_recent_and_exceptions_do_not_count(repo) -> None:  # type: ignore[no-untyped-def]
    _tags(repo, "release-1", "v1", "v2", "latest", "v3", "v4")
    rule = retention_rule_parse(
        template="tag_rule",
        value="2",
        tag_selectors=[
            {"kind": "label", "pattern": "latest"},
            {"kind": "regexp", "pattern": "^release-"},
        ],
    )
    plan = retention_plan(repository=repo, rule=rule, now=NOW)
    assert [i.tag for i in plan.items] == ["v4", "v3", "latest", "v2", "v1", "release-1"]
    assert [i.tag for i in plan.deleted] == ["v2", "v1"]
    reasons = {i.tag: i.reason for i in plan.items}
    assert reasons["latest"] == "exception: tag latest"
    assert reasons["release-1"] == "exception: matches /^release-/"
    assert reasons["v3"] == "one of the 2 most recent"
    assert reasons["v1"] == "beyond the 2 most recent"


def test_a_regexp_is_searched_not_matched_whole(repo) -> None:  # type: ignore[no-untyped-def]
    _tags(repo, "app-release-1", "release-2", "v1")
    anchored = retention_rule_parse(
        template="tag_rule", value="1", tag_selectors=[{"kind": "regexp", "pattern": "^release-"}]
    )
    assert [i.tag for i in retention_plan(repository=repo, rule=anchored).deleted] == [
        "app-release-1"
    ]
    loose = retention_rule_parse(
        template="tag_rule", value="1", tag_selectors=[{"kind": "regexp", "pattern": "release"}]
    )
    assert retention_plan(repository=repo, rule=loose).deleted == []


def test_date_rule_keeps_tags_pushed_within_the_days(repo) -> None:  # type: ignore[no-untyped-def]
    for name, days in (("old", 40), ("edge", 29), ("new", 1)):
        make_tag(repo, name, pushed_at=NOW - dt.timedelta(days=days))
    rule = retention_rule_parse(template="date_rule", value="30", tag_selectors=[])
    plan = retention_plan(repository=repo, rule=rule, now=NOW)
    assert [i.tag for i in plan.deleted] == ["old"]
    assert {i.tag: i.reason for i in plan.items}["old"] == "pushed 40 days ago, more than 30"


def test_ties_in_push_time_break_by_name_so_plans_repeat(repo) -> None:  # type: ignore[no-untyped-def]
    for name in ("c", "a", "b"):
        make_tag(repo, name, pushed_at=NOW)
    rule = retention_rule_parse(template="tag_rule", value="1", tag_selectors=[])
    assert [i.tag for i in retention_plan(repository=repo, rule=rule).deleted] == ["b", "c"]


def test_siblings_of_deleted_tags_are_named_and_only_lost_images_free_bytes(repo) -> None:  # type: ignore[no-untyped-def]
    # old-a and keep-a share an image; old-b is alone on its image.
    _tags(repo, "old-a", "old-b", "keep-a", shared={"keep-a": "old-a"})
    rule = retention_rule_parse(template="tag_rule", value="1", tag_selectors=[])
    plan = retention_plan(repository=repo, rule=rule, now=NOW)
    assert [i.tag for i in plan.deleted] == ["old-b", "old-a"]
    assert {i.tag: i.siblings for i in plan.deleted} == {"old-b": (), "old-a": ("keep-a",)}
    assert plan.safe_siblings == ["keep-a"]
    lost = repo.tags.get(name="old-b").manifest
    assert plan.freed_bytes == lost.size  # the shared image frees nothing


def test_a_layer_kept_by_another_image_is_not_counted_as_freed(repo) -> None:  # type: ignore[no-untyped-def]
    _tags(repo, "old", "new")
    old, new = (repo.tags.get(name=n).manifest for n in ("old", "new"))
    new.layers = [*new.layers, old.layers[0]]  # the new image reuses the old one's layer
    new.save()
    rule = retention_rule_parse(template="tag_rule", value="1", tag_selectors=[])
    plan = retention_plan(repository=repo, rule=rule)
    assert plan.freed_bytes == old.size - old.layers[0]["size"]  # only its config goes


def test_a_multi_arch_image_frees_its_platforms(repo) -> None:  # type: ignore[no-untyped-def]
    children = [make_manifest(repo, architecture=a, size=1000) for a in ("amd64", "arm64")]
    make_tag(repo, "multi", make_index(repo, children), pushed_at=NOW - dt.timedelta(days=9))
    make_tag(repo, "single", pushed_at=NOW)
    rule = retention_rule_parse(template="tag_rule", value="1", tag_selectors=[])
    plan = retention_plan(repository=repo, rule=rule, now=NOW)
    assert [i.tag for i in plan.deleted] == ["multi"]
    assert plan.freed_bytes == 2000


def test_a_plan_costs_the_same_queries_for_10_and_300_tags(repo) -> None:  # type: ignore[no-untyped-def]
    rule = retention_rule_parse(template="tag_rule", value="5", tag_selectors=[])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            retention_plan(repository=repo, rule=rule)
        return len(queries)

    _tags(repo, *(f"a{i}" for i in range(10)))
    few = count()
    _tags(repo, *(f"b{i}" for i in range(290)))
    assert count() == few == 2


# -- policies --------------------------------------------------------------------------------------


def test_only_managers_preview_save_change_or_delete(repo, owner, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    rule = {"template": "tag_rule", "value": "3", "tag_selectors": []}
    for user in (reader, outsider):
        with pytest.raises(ServiceError) as exc:
            retention_preview(repository=repo, actor=user, **rule)
        assert _code(exc) == (PREFIX + FORBIDDEN_IMAGE, 403)
        with pytest.raises(ServiceError):
            retention_policy_create(repository=repo, actor=user, **rule)
    policy, _ = retention_policy_create(repository=repo, actor=owner, **rule)
    for user in (reader, outsider):
        with pytest.raises(ServiceError):
            retention_policy_update(policy=policy, value="4", tag_selectors=[], actor=user)
        with pytest.raises(ServiceError):
            retention_policy_delete(policy=policy, actor=user)
    assert RetentionPolicy.objects.get().value == 3


def test_one_policy_per_repository_and_its_type_never_changes(repo, owner) -> None:  # type: ignore[no-untyped-def]
    policy, job = retention_policy_create(
        repository=repo, template="date_rule", value="7", tag_selectors=[], actor=owner
    )
    assert job.kind == Job.Kind.RETENTION and job.repository == repo
    assert RetentionPolicy.objects.get().last_job == job
    with pytest.raises(ServiceError) as exc:
        retention_policy_create(
            repository=repo, template="tag_rule", value="7", tag_selectors=[], actor=owner
        )
    assert _code(exc) == (PREFIX + INVALID_PARAMETERS, 409)
    with pytest.raises(ServiceError) as exc:
        retention_policy_update(
            policy=policy, template="tag_rule", value="7", tag_selectors=[], actor=owner
        )
    assert _code(exc) == (PREFIX + INVALID_PARAMETERS, 400)
    retention_policy_update(
        policy=policy,
        value="14",
        tag_selectors=[{"kind": "label", "pattern": "keep"}],
        actor=owner,
    )
    assert retention_policy_swr(RetentionPolicy.objects.get()) == {
        "id": policy.pk,
        "algorithm": "or",
        "rules": [
            {
                "template": "date_rule",
                "params": {"days": "14"},
                "tag_selectors": [{"kind": "label", "pattern": "keep"}],
            }
        ],
        "scope": "",
    }
    traces = list(
        AuditEvent.objects.filter(resource_type="retention")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert traces == ["createRetention", "updateRetention"]
    retention_policy_delete(policy=policy, actor=owner)
    assert not RetentionPolicy.objects.exists()
    assert AuditEvent.objects.filter(action="deleteRetention").exists()


@override_settings(RETENTION_PUSH_DELAY=60)
def test_pushes_queue_one_delayed_run_per_repository_with_a_policy(repo, owner, make_org) -> None:  # type: ignore[no-untyped-def]
    other = make_repository(make_org("nopolicy", creator=owner), "app")
    retention_policy_create(
        repository=repo, template="tag_rule", value="3", tag_selectors=[], actor=owner
    )
    Job.objects.all().delete()  # the first run, as if it had gone

    def push(repository, tag: str) -> TagPush:  # type: ignore[no-untyped-def]
        return TagPush(repository.pk, tag, "sha256:" + "0" * 64, timezone.now(), "owner", True)

    retention_after_pushes(pushes=[push(repo, "v1"), push(repo, "v2"), push(other, "v1")])
    retention_after_pushes(pushes=[push(repo, "v3")])  # still waiting: the same run covers it
    jobs = Job.objects.filter(kind=Job.Kind.RETENTION)
    assert [(j.repository_id, j.status, j.created_by_id) for j in jobs] == [
        (repo.pk, Job.Status.PENDING, None)
    ]


def test_the_schedule_queues_policies_not_run_within_the_interval(repo, owner, make_org) -> None:  # type: ignore[no-untyped-def]
    fresh_repo = make_repository(repo.organization, "fresh")
    stale, _ = retention_policy_create(
        repository=repo, template="tag_rule", value="3", tag_selectors=[], actor=owner
    )
    fresh, _ = retention_policy_create(
        repository=fresh_repo, template="tag_rule", value="3", tag_selectors=[], actor=owner
    )
    Job.objects.all().delete()
    RetentionPolicy.objects.filter(pk=stale.pk).update(last_run_at=NOW - dt.timedelta(hours=25))
    RetentionPolicy.objects.filter(pk=fresh.pk).update(last_run_at=NOW - dt.timedelta(hours=2))
    assert retention_schedule_due(now=NOW) == 1
    assert retention_schedule_due(now=NOW) == 0  # one is already waiting
    assert list(Job.objects.values_list("repository_id", flat=True)) == [repo.pk]
