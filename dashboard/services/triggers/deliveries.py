"""Triggers: firing on new tags, test deliveries, and sending one webhook delivery."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http
import json
import re
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from dashboard.models import Job, Level, Tag, Trigger, TriggerDelivery
from dashboard.registry.client import USER_AGENT, make_session
from dashboard.services.access import AnyUser, require_repository_level
from dashboard.services.errors import ServiceError
from dashboard.services.jobs import (
    JobCancelled,
    Transient,
    job_create,
    job_enqueue,
    job_finish,
    job_progress,
)
from dashboard.services.pushes import TagPush
from dashboard.services.sealed import InvalidToken, unseal
from dashboard.services.triggers.rules import _HEADER_PURPOSE, _SECRET_PURPOSE, _trace

EXCERPT_BYTES = 4096
EVENT_HEADER = "X-Berth-Event"
DELIVERY_HEADER = "X-Berth-Delivery"
SIGNATURE_HEADER = "X-Berth-Signature-256"
WEBHOOK_USER_AGENT = f"{USER_AGENT} (webhook)"
JSON_TYPE = "application/json"
CLOUDEVENTS_TYPE = "application/cloudevents+json; charset=utf-8"
SAMPLE_DIGEST = "sha256:" + "0" * 64

# Where a delivery failed (the job and the delivery keep these codes; not SWR codes).
HTTP_ERROR = "WEBHOOK.HTTP_{}"
TIMEOUT = "WEBHOOK.TIMEOUT"
CONNECTION = "WEBHOOK.CONNECTION"
DISABLED = "WEBHOOK.DISABLED"
CANCELLED = "WEBHOOK.CANCELLED"
SECRET_UNREADABLE = "WEBHOOK.SECRET"

# -- firing ----------------------------------------------------------------------------------------


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _payload(
    trigger: Trigger,
    delivery_id: int,
    *,
    event: str,
    tag: str,
    digest: str,
    pusher: str,
    at: dt.datetime,
) -> dict[str, Any]:
    """The JSON body of one delivery, in the trigger's format."""
    repository = trigger.repository
    data = {
        "event": event,
        "delivery_id": str(delivery_id),
        "trigger": trigger.name,
        "namespace": repository.organization.name,
        "repository": repository.full_name,
        "tag": tag,
        "digest": digest,
        "pusher": pusher,
        "time": _iso(at),
        "pull_command": f"docker pull {settings.REGISTRY_HOST}/{repository.full_name}:{tag}",
        # SWR's deployment target: which workload and container the receiver should update.
        "workload": trigger.workload,
    }
    if trigger.payload_format != Trigger.PayloadFormat.CLOUDEVENTS:
        return data
    page = reverse(
        "dashboard:repository-detail", args=[repository.organization.name, repository.name]
    )
    return {
        "specversion": "1.0",
        "type": "io.berth.image.push" if event == "push" else "io.berth.trigger.test",
        "source": settings.PUBLIC_URL + page,
        "id": str(delivery_id),
        "time": _iso(at),
        "subject": f"{repository.full_name}:{tag}",
        "datacontenttype": JSON_TYPE,
        "data": data,
    }


def _delivery_queue(
    trigger: Trigger,
    *,
    event: str,
    tag: str,
    digest: str,
    pusher: str,
    at: dt.datetime,
    event_key: str = "",
    actor: AnyUser | None = None,
) -> TriggerDelivery | None:
    """Create a delivery and its job and send the job after commit; None when a delivery with
    `event_key` exists already (the same push reported twice)."""
    repository = trigger.repository
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery = TriggerDelivery.objects.create(
                    trigger=trigger, event=event, event_key=event_key, tag=tag, digest=digest
                )
        except IntegrityError:
            return None
        host = urlsplit(trigger.url).hostname or ""
        delivery.job = job_create(
            kind=Job.Kind.TRIGGER_DELIVERY,
            repository=repository,
            target=f"{repository.full_name} trigger {trigger.name}"[:300],
            created_by=actor,
            total=1,
            message=f"Deliver {event} of {tag} to {host}"[:500],
        )
        delivery.payload = _payload(
            trigger, delivery.pk, event=event, tag=tag, digest=digest, pusher=pusher, at=at
        )
        delivery.save(update_fields=["job", "payload"])
        from dashboard.tasks import trigger_delivery_job  # tasks import the services

        job_enqueue(delivery.job, trigger_delivery_job)
    return delivery


def _push_key(push: TagPush) -> str:
    """One key per push of a tag: the same notification twice gives the same key, a later push
    (the tag deleted and pushed again) another."""
    text = f"{push.tag}\n{push.digest}\n{push.pushed_at.isoformat()}"
    return "push:" + hashlib.sha256(text.encode()).hexdigest()


def triggers_fire_for_pushes(*, pushes: list[TagPush]) -> list[TriggerDelivery]:
    """Queue a delivery for every enabled trigger whose condition matches a new tag.

    Pushes that moved an existing tag (`is_new` False) fire nothing. Returns the deliveries
    queued; a push already delivered for a trigger is skipped. Called by the indexer after its
    transaction commits (dashboard/services/pushes.py).
    """
    new = [push for push in pushes if push.is_new]
    if not new:
        return []
    triggers: dict[int, list[Trigger]] = {}
    for trigger in Trigger.objects.select_related("repository__organization").filter(
        repository_id__in={push.repository_id for push in new}, enabled=True
    ):
        triggers.setdefault(trigger.repository_id, []).append(trigger)
    queued = []
    for push in new:
        for trigger in triggers.get(push.repository_id, []):
            if not trigger.matches(push.tag):
                continue
            delivery = _delivery_queue(
                trigger,
                event="push",
                tag=push.tag,
                digest=push.digest,
                pusher=push.pushed_by,
                at=push.pushed_at,
                event_key=_push_key(push),
            )
            if delivery is not None:
                queued.append(delivery)
    return queued


def trigger_test(*, trigger: Trigger, actor: AnyUser) -> TriggerDelivery:
    """Queue a `test` delivery (also for a disabled trigger) describing the repository's newest
    tag, or a sample tag when it has none; return it. Raises ServiceError 4037018 (403) without
    Manage."""
    require_repository_level(user=actor, repository=trigger.repository, level=Level.MANAGE)
    newest = (
        Tag.objects.filter(repository=trigger.repository)
        .select_related("manifest")
        .order_by("-pushed_at", "-id")
        .first()
    )
    with transaction.atomic():
        delivery = _delivery_queue(
            trigger,
            event="test",
            tag=newest.name if newest else "sample",
            digest=newest.manifest.digest if newest else SAMPLE_DIGEST,
            pusher=(newest.pushed_by if newest else "") or actor.get_username(),
            at=timezone.now(),
            actor=actor,
        )
        assert delivery is not None  # no event key: never a duplicate
        _trace("testTrigger", trigger, actor, delivery=delivery.pk)
    return delivery


# -- delivering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    status_code: int | None
    excerpt: str
    duration_ms: int
    error_code: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        code = self.status_code
        return code is None or code in (408, 429) or code >= 500


def delivery_signature(*, secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of `body` keyed by
    `secret`. A receiver recomputes it over the raw body and compares in constant time."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _request_headers(trigger: Trigger, delivery: TriggerDelivery, body: bytes) -> dict[str, str]:
    """Extra headers first, so Berth's own always win. Raises InvalidToken when a sealed value
    cannot be opened (SECRET_KEY changed)."""
    headers = {
        name: unseal(value, purpose=_HEADER_PURPOSE) for name, value in trigger.headers.items()
    }
    cloudevents = trigger.payload_format == Trigger.PayloadFormat.CLOUDEVENTS
    headers["Content-Type"] = CLOUDEVENTS_TYPE if cloudevents else JSON_TYPE
    headers["User-Agent"] = WEBHOOK_USER_AGENT
    headers[EVENT_HEADER] = delivery.event
    headers[DELIVERY_HEADER] = str(delivery.pk)
    if trigger.secret_encrypted:
        secret = unseal(trigger.secret_encrypted, purpose=_SECRET_PURPOSE)
        headers[SIGNATURE_HEADER] = delivery_signature(secret=secret, body=body)
    return headers


def _post(url: str, body: bytes, headers: dict[str, str]) -> _Attempt:
    """One POST; the answer's first EXCERPT_BYTES are kept, the rest is not read."""
    host = urlsplit(url).hostname or url
    started = time.monotonic()
    status: int | None = None
    chunks: list[bytes] = []
    session = make_session(user_agent=WEBHOOK_USER_AGENT)
    try:
        with session.post(
            url,
            data=body,
            headers=headers,
            timeout=(settings.TRIGGER_CONNECT_TIMEOUT, settings.TRIGGER_READ_TIMEOUT),
            allow_redirects=False,
            stream=True,
        ) as response:
            status = response.status_code
            # The read timeout is per read: a target trickling its answer must not hold the
            # worker, so the excerpt is cut after one read timeout in all.
            deadline = time.monotonic() + settings.TRIGGER_READ_TIMEOUT
            size = 0
            for chunk in response.iter_content(1024):
                chunks.append(chunk)
                size += len(chunk)
                if size >= EXCERPT_BYTES or time.monotonic() > deadline:
                    break
    except requests.RequestException as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        if status is not None:
            # The answer came and its body broke off: the status decides.
            return _Attempt(status, _text(chunks), elapsed)
        if isinstance(exc, requests.Timeout):
            wait = settings.TRIGGER_READ_TIMEOUT
            if isinstance(exc, requests.ConnectTimeout):
                wait = settings.TRIGGER_CONNECT_TIMEOUT
            return _Attempt(None, "", elapsed, TIMEOUT, f"{host} did not answer within {wait:g} s.")
        return _Attempt(None, "", elapsed, CONNECTION, f"Could not reach {host}: {_reason(exc)}.")
    finally:
        session.close()
    return _Attempt(status, _text(chunks), int((time.monotonic() - started) * 1000))


def _reason(exc: Exception) -> str:
    """The operating system's words for a connection failure ("Connection refused"), rather
    than urllib3's nested representation."""
    found = re.findall(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
    return found[-1].strip() if found else exc.__class__.__name__


def _status_text(code: int) -> str:
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks)[:EXCERPT_BYTES].decode("utf-8", errors="replace")


def _record(delivery: TriggerDelivery, attempt: _Attempt, *, status: str) -> None:
    now = timezone.now()
    delivery.attempts += 1
    delivery.status = status
    delivery.status_code = attempt.status_code
    delivery.response_excerpt = attempt.excerpt
    delivery.duration_ms = attempt.duration_ms
    delivery.error_code = attempt.error_code
    delivery.error = attempt.error
    delivery.attempt_log = [
        *delivery.attempt_log,
        {
            "attempt": delivery.attempts,
            "at": _iso(now),
            "status_code": attempt.status_code,
            "duration_ms": attempt.duration_ms,
            "error_code": attempt.error_code,
            "error": attempt.error,
        },
    ]
    if status in TriggerDelivery.FINISHED:
        delivery.finished_at = now
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "status_code",
            "response_excerpt",
            "duration_ms",
            "error_code",
            "error",
            "attempt_log",
            "finished_at",
        ]
    )


def _give_up(delivery: TriggerDelivery, code: str, error: str) -> None:
    """Finish the delivery as failed without an attempt."""
    TriggerDelivery.objects.filter(pk=delivery.pk).update(
        status=TriggerDelivery.Status.FAILED,
        error_code=code,
        error=error,
        finished_at=timezone.now(),
    )


def trigger_delivery_execute(*, job: Job) -> None:
    """Make one attempt at the delivery Job `job` sends, and record it on the delivery.

    Returns when it succeeded, or when there is nothing to send (the trigger was deleted, the
    delivery already finished). Raises Transient (retried with backoff by `job_run`; on the
    last attempt the delivery is left failed) for 408, 429, 5xx, timeouts and connection
    failures, and ServiceError for any other answer or a disabled trigger (failed at once).
    """
    delivery = (
        TriggerDelivery.objects.select_related("trigger__repository__organization")
        .filter(job=job)
        .first()
    )
    if delivery is None or delivery.is_finished:
        return  # the trigger was deleted with its deliveries, or a redelivered task
    trigger = delivery.trigger
    if delivery.event == "push" and not trigger.enabled:
        error = "The trigger was disabled before this delivery was sent."
        _give_up(delivery, DISABLED, error)
        raise ServiceError(DISABLED, error, 409)
    host = urlsplit(trigger.url).hostname or ""
    try:
        job_progress(job, message=f"Attempt {job.attempts}: POST to {host}")
    except JobCancelled:
        _give_up(delivery, CANCELLED, "The delivery was cancelled.")
        raise
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        headers = _request_headers(trigger, delivery, body)
    except InvalidToken:
        error = (
            "The trigger's secret or headers cannot be read (SECRET_KEY changed); set them again."
        )
        _give_up(delivery, SECRET_UNREADABLE, error)
        raise ServiceError(SECRET_UNREADABLE, error, 500) from None
    attempt = _post(trigger.url, body, headers)
    if attempt.ok:
        _record(delivery, attempt, status=TriggerDelivery.Status.SUCCESS)
        job_finish(job, message=f"Delivered: {host} answered HTTP {attempt.status_code}.")
        return
    if attempt.status_code is not None:
        attempt = replace(
            attempt,
            error_code=HTTP_ERROR.format(attempt.status_code),
            error=f"{host} answered HTTP {_status_text(attempt.status_code)}.",
        )
    last = job.attempts >= settings.JOB_MAX_ATTEMPTS
    if attempt.retryable:
        status = TriggerDelivery.Status.FAILED if last else TriggerDelivery.Status.RETRYING
        _record(delivery, attempt, status=status)
        raise Transient(attempt.error, code=attempt.error_code)
    _record(delivery, attempt, status=TriggerDelivery.Status.FAILED)
    raise ServiceError(attempt.error_code, attempt.error, 502)
