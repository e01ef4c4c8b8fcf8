"""Retention: SWR's image retention policy. Plan first, then delete exactly what the plan names.

One policy per repository with one rule (algorithm `or`): `date_rule` keeps the tags pushed
within the last N days (1-365); `tag_rule` keeps the N most recently pushed tags (1-1000).
Exceptions are never deleted and stand outside the rule (they do not count towards N):
`{"kind": "label", "pattern": "<exact tag>"}` or `{"kind": "regexp", "pattern": "<regex>"}`,
the regular expression searched anywhere in the tag name (`^release-` anchors it).

A run builds the plan from the index, then removes the planned tags one by one through
`TagRemover` (which re-points a single tag at a throwaway manifest on distribution 2.8, so tags
sharing a digest stay), checking just before each deletion that the tag still points at the
digest the plan saw: a tag re-pushed meanwhile is skipped. Runs happen when a policy is saved,
on a schedule (BERTH_RETENTION_INTERVAL_HOURS) and shortly after pushes (debounced).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from dashboard.models import Job, Level, Manifest, Repository, RetentionLog, RetentionPolicy, Tag
from dashboard.registry.client import get_client
from dashboard.registry.errors import RegistryError
from dashboard.services import index
from dashboard.services.access import AnyUser, require_repository_level
from dashboard.services.audit import audit_record
from dashboard.services.errors import INVALID_PARAMETERS, INVALID_TAG, PREFIX, ServiceError
from dashboard.services.index import cache_lock
from dashboard.services.jobs import Transient, job_create, job_enqueue, job_finish, job_progress
from dashboard.services.pushes import TagPush
from dashboard.services.tags import TagRemover

logger = logging.getLogger(__name__)

RETENTION_NOT_FOUND = "4040083"
DAYS = (1, 365)
NUMBER = (1, 1000)
MAX_SELECTORS = 100
MAX_PATTERN = 255
#: Tags deleted between two progress reports (and index updates) of a run.
BATCH = 50
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
#: The key of SWR's `params` for each template: `{"days": "N"}` or `{"num": "N"}`.
PARAM_KEYS: dict[str, str] = {
    RetentionPolicy.Template.DATE_RULE: "days",
    RetentionPolicy.Template.TAG_RULE: "num",
}
#: Who the audit log names for deletions a policy makes.
RETENTION_ACTOR = "retention"


# -- rules -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """An exception: `label` names one exact tag, `regexp` is searched in tag names."""

    kind: str
    pattern: str

    def as_swr(self) -> dict[str, str]:
        return {"kind": self.kind, "pattern": self.pattern}


@dataclass(frozen=True)
class RetentionRule:
    template: str
    value: int
    selectors: tuple[Selector, ...] = ()

    @property
    def params(self) -> dict[str, str]:
        """SWR's params: strings, `days` for date_rule and `num` for tag_rule."""
        return {PARAM_KEYS[self.template]: str(self.value)}

    def as_swr(self) -> dict:
        """The rule as SWR writes it: {template, params, tag_selectors}."""
        return {
            "template": self.template,
            "params": self.params,
            "tag_selectors": [s.as_swr() for s in self.selectors],
        }

    def describe(self) -> str:
        """The rule in words, for pages and messages."""
        if self.template == RetentionPolicy.Template.DATE_RULE:
            kept = f"Keep tags pushed within the last {self.value} day{'s' * (self.value != 1)}"
        else:
            kept = f"Keep the {self.value} most recently pushed tag{'s' * (self.value != 1)}"
        if not self.selectors:
            return kept + "."
        never = ", ".join(
            s.pattern if s.kind == "label" else f"/{s.pattern}/" for s in self.selectors
        )
        return f"{kept}; never delete {never}."


def _bad(message: str, code: str = INVALID_PARAMETERS) -> ServiceError:
    return ServiceError(code, message, 400)


def retention_rule_parse(
    *, template: object, value: object, tag_selectors: object
) -> RetentionRule:
    """A validated rule from what a form or the API sent (`value` may be SWR's string "10").

    Raises ServiceError 400: 4000014 for an unknown template, a count out of range, malformed or
    too many exceptions, or a regular expression that does not compile; 4009021 for an exact
    tag that is not a valid tag name.
    """
    if template not in RetentionPolicy.Template.values:
        raise _bad(
            "The policy type must be date_rule (number of days) or tag_rule (number of tags)."
        )
    low, high = DAYS if template == RetentionPolicy.Template.DATE_RULE else NUMBER
    what = "days" if template == RetentionPolicy.Template.DATE_RULE else "tags"
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not low <= number <= high:
        raise _bad(f"The number of {what} must be a whole number from {low} to {high}.")
    if tag_selectors is None:
        tag_selectors = []
    if not isinstance(tag_selectors, list):
        raise _bad("tag_selectors must be a list of {kind, pattern} objects.")
    if len(tag_selectors) > MAX_SELECTORS:
        raise _bad(f"A policy has at most {MAX_SELECTORS} exceptions.")
    selectors: dict[Selector, None] = {}
    for raw in tag_selectors:
        if not isinstance(raw, dict) or raw.get("kind") not in ("label", "regexp"):
            raise _bad("Each exception needs kind label (an exact tag) or regexp.")
        pattern = raw.get("pattern")
        if not isinstance(pattern, str) or not pattern.strip():
            raise _bad("Each exception needs a non-empty pattern.")
        pattern = pattern.strip()
        if len(pattern) > MAX_PATTERN:
            raise _bad(f"An exception's pattern is at most {MAX_PATTERN} characters.")
        if raw["kind"] == "label" and not _TAG.match(pattern):
            raise _bad(f"{pattern!r} is not a valid tag name.", INVALID_TAG)
        if raw["kind"] == "regexp":
            try:
                re.compile(pattern)
            except re.error as exc:
                raise _bad(f"{pattern!r} is not a valid regular expression: {exc}.") from exc
        selectors[Selector(raw["kind"], pattern)] = None
    return RetentionRule(str(template), number, tuple(selectors))


def retention_policy_fields(*, algorithm: object, rules: object) -> dict[str, object]:
    """SWR's policy body (`{algorithm: "or", rules: [{template, params, tag_selectors}]}`) as
    the keyword arguments `template`, `value` and `tag_selectors` of `retention_policy_create`
    and `retention_policy_update`, which check their values (`retention_rule_parse`).

    Raises ServiceError 4000014 (400) when `algorithm` is not `or`, when there is not exactly
    one rule (a Berth policy holds one, as SWR's console makes them), or when the rule is not
    an object whose `params` hold its template's key (`days` for date_rule, `num` for tag_rule).
    """
    if algorithm != "or":
        raise _bad('algorithm must be "or".')
    if not isinstance(rules, list) or len(rules) != 1:
        raise _bad("A retention policy has exactly one rule: send rules as a list of one.")
    (rule,) = rules
    if not isinstance(rule, dict):
        raise _bad("A rule is an object {template, params, tag_selectors}.")
    template, params = rule.get("template"), rule.get("params")
    key = PARAM_KEYS.get(template) if isinstance(template, str) else None
    if key is not None and (not isinstance(params, dict) or key not in params):
        raise _bad(f'A {template} rule needs params {{"{key}": "<number>"}}.')
    return {
        "template": template,
        "value": params.get(key) if key is not None and isinstance(params, dict) else None,
        "tag_selectors": rule.get("tag_selectors"),
    }


def retention_rule_of(policy: RetentionPolicy) -> RetentionRule:
    """The rule a stored policy holds."""
    return RetentionRule(
        policy.template,
        policy.value,
        tuple(Selector(s["kind"], s["pattern"]) for s in policy.tag_selectors or []),
    )


def retention_rule_describe(rule_type: str) -> str:
    """A retention log's rule (SWR's JSON string) in words; the JSON itself if it is not one."""
    try:
        raw = json.loads(rule_type)
        params = raw["params"]
        value = params.get("num", params.get("days"))
        rule = retention_rule_parse(
            template=raw["template"], value=value, tag_selectors=raw.get("tag_selectors")
        )
    except (ValueError, TypeError, KeyError, AttributeError, ServiceError):
        return rule_type
    return rule.describe()


def retention_policy_swr(policy: RetentionPolicy) -> dict:
    """The policy as SWR's API answers it: {id, algorithm, rules: [rule], scope}."""
    return {
        "id": policy.pk,
        "algorithm": policy.algorithm,
        "rules": [retention_rule_of(policy).as_swr()],
        "scope": policy.scope,
    }


# -- the plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanItem:
    tag: str
    digest: str
    pushed_at: dt.datetime
    size: int
    delete: bool
    reason: str
    #: For a deleted tag: the kept tags on the same digest (they stay, and stay pullable).
    siblings: tuple[str, ...] = ()


@dataclass
class RetentionPlan:
    rule: RetentionRule
    #: Every tag of the repository, most recently pushed first.
    items: list[PlanItem] = field(default_factory=list)
    #: Bytes of layers and configs used only by images that lose their last tag.
    freed_bytes: int = 0

    @cached_property
    def deleted(self) -> list[PlanItem]:
        return [item for item in self.items if item.delete]

    @cached_property
    def kept(self) -> list[PlanItem]:
        return [item for item in self.items if not item.delete]

    @cached_property
    def safe_siblings(self) -> list[str]:
        """Kept tags that share a digest with a deleted one, sorted."""
        return sorted({name for item in self.items for name in item.siblings})


def _exception_reason(compiled: list[tuple[Selector, re.Pattern[str] | None]], tag: str) -> str:
    for selector, regex in compiled:
        if selector.kind == "label" and selector.pattern == tag:
            return f"exception: tag {selector.pattern}"
        if regex is not None and regex.search(tag):
            return f"exception: matches /{selector.pattern}/"
    return ""


def retention_plan(
    *,
    repository: Repository,
    rule: RetentionRule,
    now: dt.datetime | None = None,
    with_bytes: bool = True,
) -> RetentionPlan:
    """What `rule` keeps and deletes in `repository` now, by the index, with reasons, and (with
    `with_bytes`) the bytes it could free.

    Two queries whatever the number of tags (one without `with_bytes`). Ties in push time are
    broken by tag name, so the same index always gives the same plan.
    """
    now = now or timezone.now()
    rows = list(
        Tag.objects.filter(repository=repository)
        .order_by("-pushed_at", "name")
        .values_list("name", "pushed_at", "manifest_id", "manifest__digest", "manifest__size")
    )
    compiled = [(s, re.compile(s.pattern) if s.kind == "regexp" else None) for s in rule.selectors]
    cutoff = now - dt.timedelta(days=rule.value)
    counted = 0
    decisions: list[tuple[str, dt.datetime, int, str, int, bool, str]] = []
    for name, pushed_at, manifest_id, digest, size in rows:
        reason = _exception_reason(compiled, name)
        delete = False
        if reason:
            pass
        elif rule.template == RetentionPolicy.Template.TAG_RULE:
            counted += 1
            delete = counted > rule.value
            reason = (
                f"beyond the {rule.value} most recent"
                if delete
                else f"one of the {rule.value} most recent"
            )
        else:
            delete = pushed_at < cutoff
            age = (now - pushed_at).days
            reason = (
                f"pushed {age} days ago, more than {rule.value}"
                if delete
                else f"pushed within {rule.value} days"
            )
        decisions.append((name, pushed_at, manifest_id, digest, size, delete, reason))

    kept_by_manifest: dict[int, list[str]] = defaultdict(list)
    losing: set[int] = set()
    for name, _, manifest_id, _, _, delete, _ in decisions:
        if not delete:
            kept_by_manifest[manifest_id].append(name)
    for _, _, manifest_id, _, _, delete, _ in decisions:
        if delete and manifest_id not in kept_by_manifest:
            losing.add(manifest_id)
    items = [
        PlanItem(
            tag=name,
            digest=digest,
            pushed_at=pushed_at,
            size=size,
            delete=delete,
            reason=reason,
            siblings=tuple(sorted(kept_by_manifest.get(manifest_id, ()))) if delete else (),
        )
        for name, pushed_at, manifest_id, digest, size, delete, reason in decisions
    ]
    freed = _freed_bytes(repository, losing, set(kept_by_manifest)) if losing and with_bytes else 0
    return RetentionPlan(rule=rule, items=items, freed_bytes=freed)


def _blobs(
    manifest: tuple[int, str, int, str, list | None, list | None],
    by_digest: dict[str, tuple[int, str, int, str, list | None, list | None]],
) -> dict[str, int]:
    """{blob digest: size} of an image manifest, or of every platform of an index."""
    _, _, size, config_digest, layers, platforms = manifest
    if platforms:
        blobs: dict[str, int] = {}
        for platform in platforms:
            child = by_digest.get(platform.get("digest", ""))
            if child is not None and not child[5]:
                blobs.update(_blobs(child, by_digest))
        return blobs
    blobs = {layer["digest"]: int(layer.get("size") or 0) for layer in layers or []}
    if config_digest:
        blobs[config_digest] = max(0, size - sum(blobs.values()))
    return blobs


def _freed_bytes(repository: Repository, losing: set[int], kept: set[int]) -> int:
    """Bytes of blobs referenced by the images in `losing` and by none in `kept` (one query)."""
    manifests = {
        row[0]: row
        for row in Manifest.objects.filter(repository=repository).values_list(
            "id", "digest", "size", "config_digest", "layers", "platforms"
        )
    }
    by_digest = {row[1]: row for row in manifests.values()}
    live: set[str] = set()
    for pk in kept:
        if pk in manifests:
            live.update(_blobs(manifests[pk], by_digest))
    freed: dict[str, int] = {}
    for pk in losing:
        if pk in manifests:
            freed.update(_blobs(manifests[pk], by_digest))
    return sum(size for digest, size in freed.items() if digest not in live)


def retention_preview(
    *,
    repository: Repository,
    template: object,
    value: object,
    tag_selectors: object,
    actor: AnyUser,
) -> RetentionPlan:
    """The plan a rule would carry out now (nothing is saved or deleted).

    Raises ServiceError: 4037018 (403) without Manage; the rule's validation errors (400).
    """
    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)
    rule = retention_rule_parse(template=template, value=value, tag_selectors=tag_selectors)
    return retention_plan(repository=repository, rule=rule)


# -- policies --------------------------------------------------------------------------------------


def retention_policy_get(*, repository: Repository) -> RetentionPolicy | None:
    return RetentionPolicy.objects.filter(repository=repository).select_related("last_job").first()


def _trace(
    action: str, policy: RetentionPolicy, actor: AnyUser, detail: dict | None = None
) -> None:
    repository = policy.repository
    audit_record(
        action=action,
        resource_type="retention",
        resource_name=f"{repository.full_name}#{policy.pk}",
        organization=repository.organization.name,
        actor=actor,
        detail=detail,
    )


def retention_policy_create(
    *,
    repository: Repository,
    template: object,
    value: object,
    tag_selectors: object,
    actor: AnyUser,
) -> tuple[RetentionPolicy, Job]:
    """Save the repository's policy and start its first run (SWR applies a policy at once).

    Returns the policy and the run's Job. Raises ServiceError: 4037018 (403) without Manage;
    400 for an invalid rule; 4000014 (409) when the repository already has a policy.
    """
    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)
    rule = retention_rule_parse(template=template, value=value, tag_selectors=tag_selectors)
    exists = ServiceError(
        INVALID_PARAMETERS,
        f"{repository.full_name} already has a retention policy; change or delete it.",
        409,
    )
    if RetentionPolicy.objects.filter(repository=repository).exists():
        raise exists
    with transaction.atomic():
        try:
            with transaction.atomic():
                policy = RetentionPolicy.objects.create(
                    repository=repository,
                    template=rule.template,
                    value=rule.value,
                    tag_selectors=[s.as_swr() for s in rule.selectors],
                    created_by=actor if actor.is_authenticated else None,  # type: ignore[misc]
                )
        except IntegrityError as exc:  # created meanwhile by someone else
            raise exists from exc
        _trace("createRetention", policy, actor, {"rule": rule.as_swr()})
        job = retention_run_start(policy=policy, actor=actor, message="First run of a new policy.")
    return policy, job


def retention_policy_update(
    *,
    policy: RetentionPolicy,
    value: object,
    tag_selectors: object,
    actor: AnyUser,
    template: object | None = None,
) -> tuple[RetentionPolicy, Job]:
    """Change the count and the exceptions, then run the policy again.

    `template`, when given, must be the policy's own: the rule type cannot change (delete the
    policy to use the other). Raises ServiceError: 4037018 (403) without Manage; 400 for an
    invalid rule or a changed template.
    """
    require_repository_level(user=actor, repository=policy.repository, level=Level.MANAGE)
    if template is not None and template != policy.template:
        raise _bad(
            "The policy type cannot change; delete this policy to create one of the other type."
        )
    rule = retention_rule_parse(template=policy.template, value=value, tag_selectors=tag_selectors)
    with transaction.atomic():
        policy.value = rule.value
        policy.tag_selectors = [s.as_swr() for s in rule.selectors]
        policy.updated_at = timezone.now()
        policy.save(update_fields=["value", "tag_selectors", "updated_at"])
        _trace("updateRetention", policy, actor, {"rule": rule.as_swr()})
        job = retention_run_start(policy=policy, actor=actor, message="Run after a change.")
    return policy, job


def retention_policy_delete(*, policy: RetentionPolicy, actor: AnyUser) -> None:
    """Delete the policy; its retention logs stay. Raises ServiceError 4037018 (403) without
    Manage."""
    require_repository_level(user=actor, repository=policy.repository, level=Level.MANAGE)
    with transaction.atomic():
        _trace("deleteRetention", policy, actor)
        policy.delete()


def retention_logs_for_repository(*, repository: Repository) -> QuerySet[RetentionLog]:
    """SWR's retention histories of a repository, newest first."""
    return RetentionLog.objects.filter(repository=repository).select_related("job")


# -- runs ------------------------------------------------------------------------------------------


def _active_run(repository: Repository) -> Job | None:
    """A retention run of the repository not yet started (later pushes will be in its plan)."""
    return (
        Job.objects.filter(
            kind=Job.Kind.RETENTION, repository=repository, status=Job.Status.PENDING
        )
        .order_by("created_at")
        .first()
    )


def retention_run_start(
    *,
    policy: RetentionPolicy,
    actor: AnyUser | None,
    message: str = "",
    countdown: float | None = None,
) -> Job:
    """Queue a run of `policy` (after the current transaction commits) and return its Job.

    With an actor, Manage on the repository is required (ServiceError 4037018, 403).
    """
    from dashboard.tasks import retention_job

    if actor is not None:
        require_repository_level(user=actor, repository=policy.repository, level=Level.MANAGE)
    job = job_create(
        kind=Job.Kind.RETENTION, repository=policy.repository, created_by=actor, message=message
    )
    RetentionPolicy.objects.filter(pk=policy.pk).update(last_job=job)
    policy.last_job = job
    job_enqueue(job, retention_job, countdown=countdown)
    return job


def retention_after_pushes(*, pushes: list[TagPush]) -> None:
    """Queue one run, BERTH_RETENTION_PUSH_DELAY seconds later, for each repository pushed to
    that has a policy, unless one is already waiting (its plan will include these pushes)."""
    repository_ids = {push.repository_id for push in pushes}
    policies = RetentionPolicy.objects.filter(repository_id__in=repository_ids).select_related(
        "repository__organization"
    )
    for policy in policies:
        if _active_run(policy.repository) is None:
            retention_run_start(
                policy=policy,
                actor=None,
                message="Run after a push.",
                countdown=settings.RETENTION_PUSH_DELAY,
            )


def retention_schedule_due(*, now: dt.datetime | None = None) -> int:
    """Queue a run of every policy that has not run for BERTH_RETENTION_INTERVAL_HOURS and has
    none waiting. Returns how many were queued."""
    now = now or timezone.now()
    due = now - dt.timedelta(hours=settings.RETENTION_INTERVAL_HOURS)
    queued = 0
    for policy in RetentionPolicy.objects.filter(
        Q(last_run_at__isnull=True) | Q(last_run_at__lt=due)
    ).select_related("repository__organization"):
        if _active_run(policy.repository) is None:
            retention_run_start(policy=policy, actor=None, message="Scheduled run.")
            queued += 1
    return queued


def _chunks(items: list[PlanItem], size: int) -> Iterable[list[PlanItem]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def retention_execute(*, job: Job) -> None:
    """Run the policy of `job.repository`: plan, then delete exactly the planned tags.

    Each tag is checked against the registry just before it goes; one re-pushed since the plan
    is left alone. Deletions are recorded as retention logs and audit traces, and the index
    follows batch by batch. One run per repository at a time (another one waits for a retry).
    Raises the registry's error (the job lifecycle retries the retryable ones; a rerun plans
    again, so it converges), Transient while another run holds the repository, JobCancelled.
    """
    repository = job.repository
    policy = (
        RetentionPolicy.objects.select_related("repository__organization")
        .filter(repository=repository)
        .first()
        if repository is not None
        else None
    )
    if policy is None:
        job_finish(job, message="Nothing to do: the repository has no retention policy any more.")
        return
    repository = policy.repository
    with cache_lock(f"berth:retention:{repository.pk}", ttl=3600, wait=0) as locked:
        if not locked:
            raise Transient("Another retention run is working on this repository.")
        now = timezone.now()
        RetentionPolicy.objects.filter(pk=policy.pk).update(last_run_at=now)
        try:
            deleted, skipped = _carry_out(job, policy)
        except RegistryError as exc:
            RetentionPolicy.objects.filter(pk=policy.pk).update(
                last_error_code=exc.code or PREFIX + "5001038", last_error_message=exc.message
            )
            raise
        RetentionPolicy.objects.filter(pk=policy.pk).update(
            last_deleted=deleted, last_error_code="", last_error_message=""
        )
    note = f" {skipped} re-pushed since the plan were left alone." if skipped else ""
    job_finish(
        job,
        message=f"Deleted {deleted} tag{'s' * (deleted != 1)}.{note}",
        result={"deleted": deleted, "skipped": skipped},
    )


def _carry_out(job: Job, policy: RetentionPolicy) -> tuple[int, int]:
    repository = policy.repository
    rule = retention_rule_of(policy)
    plan = retention_plan(repository=repository, rule=rule, with_bytes=False)
    doomed = plan.deleted
    job_progress(
        job,
        done=0,
        total=len(doomed),
        message=f"{len(doomed)} of {len(plan.items)} tags to delete: {rule.describe()}",
    )
    rule_type = json.dumps(rule.as_swr(), separators=(",", ":"))
    remover = TagRemover(get_client(), repository.full_name)
    deleted = skipped = 0
    for batch in _chunks(doomed, BATCH):
        removed: list[PlanItem] = []
        forget: list[str] = []
        try:
            for item in batch:
                outcome = remover.remove(
                    item.tag, expected_digest=item.digest, only_if_unchanged=True
                )
                if outcome == TagRemover.MOVED:
                    skipped += 1
                    continue
                forget.append(item.tag)
                if outcome == TagRemover.REMOVED:
                    removed.append(item)
        finally:
            # What is gone from the registry leaves the index and is recorded, even when the
            # batch stopped on an error.
            _record(job, policy, rule_type, removed, forget)
        deleted += len(removed)
        job_progress(job, add=len(batch))
    return deleted, skipped


def _record(
    job: Job, policy: RetentionPolicy, rule_type: str, removed: list[PlanItem], forget: list[str]
) -> None:
    repository = policy.repository
    if not forget:
        return
    with transaction.atomic():
        index.tag_forget(repository=repository, names=forget)
        RetentionLog.objects.bulk_create(
            RetentionLog(
                retention_id=policy.pk,
                repository=repository,
                namespace=repository.organization.name,
                repo=repository.name,
                tag=item.tag,
                digest=item.digest,
                rule_type=rule_type,
                job=job,
            )
            for item in removed
        )
        for item in removed:
            audit_record(
                action="deleteImageTag",
                resource_type="imagetag",
                resource_name=f"{repository.full_name}:{item.tag}",
                organization=repository.organization.name,
                actor_name=RETENTION_ACTOR,
                detail={"retention_id": policy.pk, "digest": item.digest, "reason": item.reason},
            )
