"""Triggers: validation and management (create, change, enable, delete, read).

The rules are in the package docstring (dashboard/services/triggers/__init__.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from dashboard.models import Level, Repository, Trigger
from dashboard.services.access import AnyUser, require_repository_level
from dashboard.services.audit import audit_record
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.services.sealed import seal

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TRIGGER_NOT_FOUND = "4040111"
TRIGGER_EXISTS = "4090111"

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
TAG_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # the distribution spec's tag
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")  # an HTTP token
TRIGGERS_MAX = 50
CONDITION_MAX = 2000
REGEX_MAX = 500
URL_MAX = 2000
SECRET_MAX = 256
HEADERS_MAX = 20
HEADER_VALUE_MAX = 1000
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "user-agent", "host", "connection", "transfer-encoding"}
)
_SECRET_PURPOSE = "trigger-secret"
_HEADER_PURPOSE = "trigger-header"
#: SWR's trigger actions: `update` (its only one) and `webhook`, which the pages store.
ACTIONS = ("update", "webhook")
APP_TYPES = ("deployments", "statefulsets")
TRIGGER_MODES = ("cce", "cci")
WORKLOAD_FIELD_MAX = 128


def _invalid(message: str) -> ServiceError:
    return ServiceError(INVALID_PARAMETERS, message, 400)


# -- validation ------------------------------------------------------------------------------------


def trigger_condition_clean(*, trigger_type: str, condition: str) -> str:
    """The condition to store for `trigger_type`: `.*` for `all`, the trimmed `;`-list of tags
    for `tag`, the trimmed expression for `regular`. Raises ServiceError 4000014 (400) for an
    unknown type, an empty or invalid tag list, or an invalid or over-long expression."""
    if trigger_type == Trigger.Type.ALL:
        return ".*"
    if trigger_type == Trigger.Type.TAG:
        tags = list(dict.fromkeys(t for t in (p.strip() for p in condition.split(";")) if t))
        if not tags:
            raise _invalid("List at least one tag, separated by `;` (e.g. `v1;latest`).")
        bad = [t for t in tags if not TAG_NAME.fullmatch(t)]
        if bad:
            raise _invalid(f"Not a valid tag name: {bad[0][:130]!r}.")
        joined = ";".join(tags)
        if len(joined) > CONDITION_MAX:
            raise _invalid(f"The tag list is over {CONDITION_MAX} characters.")
        return joined
    if trigger_type == Trigger.Type.REGULAR:
        pattern = condition.strip()
        if not pattern:
            raise _invalid("Enter a regular expression for the tags (e.g. `release-.*`).")
        if len(pattern) > REGEX_MAX:
            raise _invalid(f"The regular expression is over {REGEX_MAX} characters.")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _invalid(f"Not a valid regular expression: {exc}.") from None
        return pattern
    raise _invalid("The trigger type must be `all`, `tag` or `regular`.")


def _clean_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise _invalid(
            "A trigger name is 1 to 64 characters: a letter first, then letters, digits, "
            "`_` or `-`."
        )
    return name


def _clean_url(url: str) -> str:
    url = url.strip()
    if not url:
        raise _invalid("Enter the URL to POST to.")
    if len(url) > URL_MAX:
        raise _invalid(f"The URL is over {URL_MAX} characters.")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise _invalid("The URL must not contain spaces or control characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid("The URL must be http:// or https:// with a host.")
    if parts.username is not None or parts.password is not None:
        raise _invalid(
            "Put credentials in a header, not in the URL: the URL is shown to every reader."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise _invalid("The URL's port is not valid.") from None
    return url


def _clean_secret(secret: str) -> str:
    if len(secret) > SECRET_MAX:
        raise _invalid(f"The secret is over {SECRET_MAX} characters.")
    return secret


def _clean_headers(headers: dict[str, str]) -> dict[str, str]:
    """Trimmed names and values; refuses what Berth sets itself and what HTTP cannot carry."""
    if len(headers) > HEADERS_MAX:
        raise _invalid(f"At most {HEADERS_MAX} extra headers.")
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for raw_name, raw_value in headers.items():
        name, value = raw_name.strip(), raw_value.strip()
        if not HEADER_NAME.fullmatch(name):
            raise _invalid(f"Not a valid header name: {name[:100]!r}.")
        lowered = name.lower()
        if lowered in RESERVED_HEADERS or lowered.startswith("x-berth-"):
            raise _invalid(f"Berth sets {name} itself; it cannot be an extra header.")
        if lowered in seen:
            raise _invalid(f"The header {name} is given twice.")
        if len(value) > HEADER_VALUE_MAX:
            raise _invalid(f"The value of {name} is over {HEADER_VALUE_MAX} characters.")
        # Printable ASCII only: no CR/LF (header injection), nothing HTTP/1.1 cannot carry.
        if any(not (32 <= ord(c) < 127 or c == "\t") for c in value):
            raise _invalid(f"The value of {name} may hold printable ASCII characters only.")
        seen.add(lowered)
        cleaned[name] = value
    return cleaned


def _clean_format(payload_format: str) -> str:
    if payload_format not in Trigger.PayloadFormat.values:
        raise _invalid("The payload format must be `berth` or `cloudevents`.")
    return payload_format


@dataclass(frozen=True)
class Workload:
    """SWR's deployment target of a trigger: the CCE/CCI workload (and container) to update
    with a new tag. Berth does not deploy: it keeps these as given and sends them in every
    delivery's payload (`workload`) for the deployment service behind the webhook.
    `application` may be the webhook's URL itself (see `trigger_create`)."""

    action: str = "update"
    app_type: str = ""
    application: str = ""
    cluster_id: str = ""
    cluster_name: str = ""
    cluster_ns: str = ""
    container: str = ""
    trigger_mode: str = ""


def _clean_workload(workload: Workload) -> Workload:
    """The workload trimmed; raises 4000014 for an unknown action, app_type or trigger_mode,
    an over-long field or one holding control characters."""
    values = {name: str(value).strip() for name, value in vars(workload).items()}
    if values["action"] not in ACTIONS:
        raise _invalid("The action must be `update`.")
    if values["app_type"] not in ("", *APP_TYPES):
        raise _invalid("app_type must be `deployments` or `statefulsets`.")
    if values["trigger_mode"] not in ("", *TRIGGER_MODES):
        raise _invalid("trigger_mode must be `cce` or `cci`.")
    for name, value in values.items():
        longest = URL_MAX if name == "application" else WORKLOAD_FIELD_MAX
        if len(value) > longest:
            raise _invalid(f"{name} is over {longest} characters.")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise _invalid(f"{name} must not contain control characters.")
    return Workload(**values)


def _webhook_url(url: str, workload: Workload | None) -> str:
    """The URL to POST to: `url`, or else an http(s) URL given as SWR's `application`, so that
    clients that can only send SWR's fields (the official SDK) create working triggers."""
    if url.strip() or workload is None:
        return url
    if urlsplit(workload.application).scheme in ("http", "https"):
        return workload.application
    raise _invalid(
        "Berth's trigger POSTs to a webhook instead of updating a CCE/CCI workload: send the "
        "webhook's address as `url`, or as `application` (an http:// or https:// URL)."
    )


def trigger_enable_parse(value: object) -> bool:
    """SWR's `enable` ("true" or "false", as a string) as a bool; a bool passes through.
    Raises ServiceError 4000014 (400) for anything else."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise _invalid('`enable` must be "true" or "false".')


# -- management ------------------------------------------------------------------------------------


def _trace(action: str, trigger: Trigger, actor: AnyUser, **detail: object) -> None:
    """SWR's trigger trace, named `<org>/<repo>:<trigger>`; never the secret or header values."""
    audit_record(
        action=action,
        resource_type="trigger",
        resource_name=f"{trigger.repository.full_name}:{trigger.name}",
        organization=trigger.repository.organization.name,
        actor=actor,
        detail={
            "trigger_type": trigger.trigger_type,
            "condition": trigger.condition,
            "enable": trigger.enable,
            "url": trigger.url,
            **detail,
        },
    )


def _seal_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: seal(value, purpose=_HEADER_PURPOSE) for name, value in headers.items()}


def trigger_create(
    *,
    repository: Repository,
    actor: AnyUser,
    name: str,
    trigger_type: str,
    condition: str,
    url: str,
    enabled: bool = True,
    secret: str = "",
    headers: dict[str, str] | None = None,
    payload_format: str = Trigger.PayloadFormat.BERTH,
    workload: Workload | None = None,
) -> Trigger:
    """Add a trigger to `repository` and return it (validated and normalised, module docstring).

    `workload` is SWR's deployment target (the API's triggers); with it, a blank `url` takes
    `workload.application` when that is an http(s) URL. Raises ServiceError 4037018 (403)
    without Manage on the repository, 4000014 (400) for an invalid field, no URL or a 51st
    trigger, 4090111 (409) when the repository has a trigger `name`.
    """
    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)
    name = _clean_name(name)
    condition = trigger_condition_clean(trigger_type=trigger_type, condition=condition)
    workload = _clean_workload(workload) if workload is not None else None
    url = _clean_url(_webhook_url(url, workload))
    secret = _clean_secret(secret)
    clean_headers = _clean_headers(headers or {})
    payload_format = _clean_format(payload_format)
    try:
        with transaction.atomic():
            # Lock the repository so that two concurrent creates cannot both be the 50th.
            Repository.objects.select_for_update().filter(pk=repository.pk).first()
            if Trigger.objects.filter(repository=repository).count() >= TRIGGERS_MAX:
                raise _invalid(f"{repository.full_name} has {TRIGGERS_MAX} triggers, the most.")
            now = timezone.now()
            trigger = Trigger.objects.create(
                repository=repository,
                name=name,
                trigger_type=trigger_type,
                condition=condition,
                enabled=enabled,
                url=url,
                secret_encrypted=seal(secret, purpose=_SECRET_PURPOSE) if secret else "",
                headers=_seal_headers(clean_headers),
                payload_format=payload_format,
                **(vars(workload) if workload is not None else {}),
                created_by=cast("User", actor) if actor.is_authenticated else None,
                creator_name=actor.get_username() if actor.is_authenticated else "",
                created_at=now,
                updated_at=now,
            )
            _trace("createTrigger", trigger, actor, headers=sorted(clean_headers))
            return trigger
    except IntegrityError:
        raise ServiceError(
            TRIGGER_EXISTS, f"{repository.full_name} has a trigger named {name} already.", 409
        ) from None


def trigger_update(
    *,
    trigger: Trigger,
    actor: AnyUser,
    trigger_type: str,
    condition: str,
    url: str,
    enabled: bool,
    payload_format: str,
    secret: str | None = None,
    headers: dict[str, str] | None = None,
) -> Trigger:
    """Change everything but the name; return the trigger. `secret` None keeps the current one
    ("" removes it); `headers` None keeps the current extra headers ({} removes them all).

    Raises ServiceError 4037018 (403) without Manage, 4000014 (400) for an invalid field.
    """
    require_repository_level(user=actor, repository=trigger.repository, level=Level.MANAGE)
    # Everything is checked before the trigger changes, so a refusal leaves it as it was.
    values: dict[str, Any] = {
        "trigger_type": trigger_type,
        "condition": trigger_condition_clean(trigger_type=trigger_type, condition=condition),
        "url": _clean_url(url),
        "payload_format": _clean_format(payload_format),
        "enabled": enabled,
    }
    if secret is not None:
        secret = _clean_secret(secret)
        values["secret_encrypted"] = seal(secret, purpose=_SECRET_PURPOSE) if secret else ""
    if headers is not None:
        values["headers"] = _seal_headers(_clean_headers(headers))
    for field, value in values.items():
        setattr(trigger, field, value)
    changed = [*values, "updated_at"]
    trigger.updated_at = timezone.now()
    with transaction.atomic():
        trigger.save(update_fields=changed)
        _trace(
            "updateTrigger",
            trigger,
            actor,
            secret="changed" if secret is not None else "kept",
            headers=trigger.header_names,
        )
    return trigger


def trigger_set_enabled(*, trigger: Trigger, enabled: bool, actor: AnyUser) -> Trigger:
    """Enable or disable the trigger (SWR's PATCH, which changes `enable` only); return it.
    Raises ServiceError 4037018 (403) without Manage."""
    require_repository_level(user=actor, repository=trigger.repository, level=Level.MANAGE)
    trigger.enabled = enabled
    trigger.updated_at = timezone.now()
    with transaction.atomic():
        trigger.save(update_fields=["enabled", "updated_at"])
        _trace("updateTrigger", trigger, actor)
    return trigger


def trigger_delete(*, trigger: Trigger, actor: AnyUser) -> None:
    """Delete the trigger with its deliveries; queued deliveries then send nothing.
    Raises ServiceError 4037018 (403) without Manage."""
    require_repository_level(user=actor, repository=trigger.repository, level=Level.MANAGE)
    with transaction.atomic():
        _trace("deleteTrigger", trigger, actor)
        trigger.delete()


def trigger_list(*, repository: Repository, user: AnyUser) -> QuerySet[Trigger]:
    """The repository's triggers by name. Raises ServiceError 4037018 (403) without Read."""
    require_repository_level(user=user, repository=repository, level=Level.READ)
    return Trigger.objects.filter(repository=repository).order_by("name")


def trigger_get(*, repository: Repository, name: str, user: AnyUser) -> Trigger:
    """The repository's trigger `name`. Raises ServiceError 4037018 (403) without Read and
    4040111 (404) when there is none."""
    require_repository_level(user=user, repository=repository, level=Level.READ)
    trigger = (
        Trigger.objects.select_related("repository__organization")
        .filter(repository=repository, name=name)
        .first()
    )
    if trigger is None:
        raise ServiceError(
            TRIGGER_NOT_FOUND, f"{repository.full_name} has no trigger named {name[:64]}.", 404
        )
    return trigger
