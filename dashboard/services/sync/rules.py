"""Sync: rules (SWR's sync_repo), manual syncs (sync_images) and automatic syncs on push:
each creates SyncJob records and a batch Job."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.models import Job, Level, RemoteRegistry, Repository, SyncJob, SyncRule, Tag
from dashboard.services.access import AnyUser, require_repository_level
from dashboard.services.audit import audit_record
from dashboard.services.errors import (
    INVALID_ORG_NAME,
    INVALID_PARAMETERS,
    ServiceError,
)
from dashboard.services.jobs import (
    job_create,
    job_enqueue,
)
from dashboard.services.organizations import organization_name_error
from dashboard.services.pushes import TagPush
from dashboard.services.sync.registries import SYNC_EXISTS, SYNC_NOT_FOUND

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TAGS_MAX = 500
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


# -- rules (sync_repo) -----------------------------------------------------------------------------


def _check_namespace(remote_namespace: str) -> str:
    remote_namespace = remote_namespace.strip()
    problem = organization_name_error(remote_namespace)
    if problem is not None:
        raise ServiceError(INVALID_ORG_NAME, f"Invalid target organization: {problem}", 400)
    return remote_namespace


def _rule_trace(action: str, rule: SyncRule, actor: AnyUser) -> None:
    audit_record(
        action=action,
        resource_type="syncrepo",
        resource_name=rule.repository.full_name,
        organization=rule.repository.organization.name,
        actor=actor,
        detail={
            "remoteRegionId": rule.remote.name,
            "remoteNamespace": rule.remote_namespace,
            "syncAuto": rule.sync_auto,
            "override": rule.override,
        },
    )


def sync_rule_create(
    *,
    repository: Repository,
    remote: RemoteRegistry,
    remote_namespace: str,
    sync_auto: bool = False,
    override: bool = False,
    actor: AnyUser,
) -> SyncRule:
    """Add a sync target to `repository` (SWR's `POST .../sync_repo`). With `sync_auto`, tags
    pushed from now on are copied there. Returns the rule.

    Raises ServiceError: 4037018 (403) without Manage; 4001028 (400) when `remote_namespace`
    breaks SWR's organization name rule; 4090089 (409) when the repository already has a rule
    for that registry and organization.
    """
    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)
    remote_namespace = _check_namespace(remote_namespace)
    try:
        with transaction.atomic():
            rule = SyncRule.objects.create(
                repository=repository,
                remote=remote,
                remote_namespace=remote_namespace,
                sync_auto=sync_auto,
                override=override,
                created_by=cast("User", actor) if actor.is_authenticated else None,
            )
            _rule_trace("createSyncRepo", rule, actor)
    except IntegrityError:
        raise ServiceError(
            SYNC_EXISTS,
            f"{repository.full_name} already syncs to {remote.name}/{remote_namespace}.",
            409,
        ) from None
    return rule


def sync_rule_delete(
    *, repository: Repository, remote: RemoteRegistry, remote_namespace: str, actor: AnyUser
) -> None:
    """Remove the rule for one target (SWR's `DELETE .../sync_repo` names it by region and
    organization). Records it made stay. Raises ServiceError: 4037018 (403) without Manage;
    4040083 (404) when there is no such rule."""
    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)
    rule = (
        SyncRule.objects.select_related("remote", "repository__organization")
        .filter(repository=repository, remote=remote, remote_namespace=remote_namespace.strip())
        .first()
    )
    if rule is None:
        raise ServiceError(
            SYNC_NOT_FOUND,
            f"{repository.full_name} has no sync rule to {remote.name}/{remote_namespace}.",
            404,
        )
    with transaction.atomic():
        _rule_trace("deleteSyncRepo", rule, actor)
        rule.delete()


# -- starting copies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncStarted:
    """What a manual sync started: its batch job (None when no tag could start) and, as SWR's
    `sync_images` answers, the tags that failed to start."""

    job: Job | None
    failed: list[str]


def _batch_target(repository: Repository, targets: set[tuple[str, str]]) -> str:
    where = ", ".join(f"{name}/{namespace}" for name, namespace in sorted(targets))
    return f"{repository.full_name} → {where}"[:300]


def _records_create(
    *,
    job: Job,
    repository: Repository,
    items: list[tuple[str, RemoteRegistry, str, bool, SyncRule | None]],
    operator: AnyUser | None,
    operator_name: str,
) -> list[SyncJob]:
    """One waiting record per (tag, remote, namespace, override, rule) of a batch."""
    now = timezone.now()
    user = cast("User", operator) if operator is not None and operator.is_authenticated else None
    return SyncJob.objects.bulk_create(
        [
            SyncJob(
                repository=repository,
                namespace=repository.organization.name,
                repo_name=repository.name,
                tag=tag,
                remote=remote,
                remote_region_id=remote.name,
                remote_namespace=namespace,
                override=override,
                rule=rule,
                job=job,
                operator=user,
                operator_name=operator_name[:150],
                created_at=now,
                updated_at=now,
            )
            for tag, remote, namespace, override, rule in items
        ]
    )


def sync_images(
    *,
    repository: Repository,
    tags: list[str],
    remote: RemoteRegistry,
    remote_namespace: str,
    override: bool = False,
    actor: AnyUser,
) -> SyncStarted:
    """Copy `tags` of `repository` to `remote`/`remote_namespace` now (SWR's `sync_images`):
    one waiting record per tag, one batch Job, queued after commit. Tags the index does not
    know, or that are not tag names, do not start: they are returned in `failed`.

    Raises ServiceError: 4037018 (403) without Manage; 4000014 (400) when no tag (or more than
    500) is given; 4001028 (400) for a target organization breaking SWR's name rule.
    """
    from dashboard.tasks import sync_job

    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)
    remote_namespace = _check_namespace(remote_namespace)
    wanted = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    if not wanted:
        raise ServiceError(INVALID_PARAMETERS, "Choose at least one tag to synchronize.", 400)
    if len(wanted) > TAGS_MAX:
        raise ServiceError(
            INVALID_PARAMETERS, f"At most {TAGS_MAX} tags can be synchronized at once.", 400
        )
    known = set(
        Tag.objects.filter(
            repository=repository, name__in=[t for t in wanted if _TAG.match(t)]
        ).values_list("name", flat=True)
    )
    ready = [t for t in wanted if t in known]
    failed = [t for t in wanted if t not in known]
    if not ready:
        return SyncStarted(job=None, failed=failed)
    with transaction.atomic():
        job = job_create(
            kind=Job.Kind.SYNC,
            repository=repository,
            target=_batch_target(repository, {(remote.name, remote_namespace)}),
            created_by=actor,
            message=f"{len(ready)} tag(s) waiting to be copied.",
        )
        _records_create(
            job=job,
            repository=repository,
            items=[(tag, remote, remote_namespace, override, None) for tag in ready],
            operator=actor,
            operator_name=actor.get_username() if actor.is_authenticated else "",
        )
        audit_record(
            action="syncImages",
            resource_type="syncjob",
            resource_name=repository.full_name,
            organization=repository.organization.name,
            actor=actor,
            detail={
                "imageTag": ready,
                "failed": failed,
                "remoteRegionId": remote.name,
                "remoteNamespace": remote_namespace,
                "override": override,
                "job": job.pk,
            },
        )
        job_enqueue(job, sync_job)
    return SyncStarted(job=job, failed=failed)


def sync_auto_for_pushes(*, pushes: list[TagPush]) -> None:
    """Queue copies of the pushed tags for every automatic rule created before the push: one
    batch Job per repository, one record per (tag, rule). Rules younger than a push do not copy
    it (SWR: only pushes made after the rule exist are replicated)."""
    from dashboard.tasks import sync_job

    by_repository: dict[int, list[TagPush]] = defaultdict(list)
    for push in pushes:
        by_repository[push.repository_id].append(push)
    rules = (
        SyncRule.objects.filter(repository_id__in=by_repository, sync_auto=True)
        .select_related("remote", "repository__organization")
        .order_by("pk")
    )
    rules_by_repository: dict[int, list[SyncRule]] = defaultdict(list)
    for rule in rules:
        rules_by_repository[rule.repository_id].append(rule)
    for repository_id, repository_rules in rules_by_repository.items():
        repository = repository_rules[0].repository
        latest: dict[str, TagPush] = {}
        for push in sorted(by_repository[repository_id], key=lambda p: p.pushed_at):
            latest[push.tag] = push  # the newest push of a tag is what gets copied
        items = [
            (push, rule)
            for push in latest.values()
            for rule in repository_rules
            if rule.created_at <= push.pushed_at
        ]
        if not items:
            continue
        with transaction.atomic():
            job = job_create(
                kind=Job.Kind.SYNC,
                repository=repository,
                target=_batch_target(
                    repository, {(rule.remote.name, rule.remote_namespace) for _, rule in items}
                ),
                message=f"Automatic sync of {len(items)} pushed tag(s).",
            )
            for push, rule in items:
                _records_create(
                    job=job,
                    repository=repository,
                    items=[(push.tag, rule.remote, rule.remote_namespace, rule.override, rule)],
                    operator=None,
                    operator_name=push.pushed_by,
                )
            job_enqueue(job, sync_job)
