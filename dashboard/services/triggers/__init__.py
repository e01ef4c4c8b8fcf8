"""Triggers: SWR's triggers (SWR-SPEC.md §1.8, §2.12, §5 item 17) with an HTTP webhook as the
action. When a push creates a tag that an enabled trigger's condition matches, Berth POSTs a
JSON description of it to the trigger's URL, and keeps every delivery with every attempt.

The rules (SWR documents no trigger limits or codes; these are Berth's):

- Name: 1-64 characters, a letter first, then letters, digits, `_` and `-` (triggers are
  addressed by name in URLs). Unique per repository; it never changes.
- Condition by `trigger_type`: `all` (stored as `.*`); `tag`, a `;`-separated list of exact
  tags (whitespace around each is trimmed, empty items dropped, each a valid tag name);
  `regular`, a regular expression searched anywhere in the tag (`re.search`, as Go's
  `regexp.MatchString` and retention's exceptions do: `release-` fires for `release-1` and
  `pre-release-1`; `^release-` only for the first), at most 500 characters.
- URL: `http` or `https` with a host, at most 2,000 characters, without `user:password@` (the
  URL is shown to everyone who can read the repository; send credentials in a header).
- Secret (optional, at most 256 characters): sealed; each body is signed with it,
  `X-Berth-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
- Extra headers: at most 20, token names, printable ASCII values of at most 1,000 characters,
  never a header Berth sets itself (`Content-Type`, `User-Agent`, `X-Berth-*`, ...). Values
  are sealed and never shown again, nor is the secret.
- At most 50 triggers per repository.
- SWR's deployment target (`Workload`: `action` `update`, `app_type` `deployments` or
  `statefulsets`, `application`, `cluster_id`, `cluster_name`, `cluster_ns`, `container`,
  `trigger_mode` `cce` or `cci`; each optional, at most 128 characters, `application` 2,000)
  is kept as the API set it and sent in each delivery's payload as `workload`: Berth does not
  deploy, the service behind the webhook does. Without a URL, an http(s) `application` is the
  webhook (the official SDK cannot send Berth's `url`).

Errors: 4000014 (400) for anything invalid; 4037018 (403) without Manage (changes, test
deliveries) or Read (lists); 4040111 (404) no trigger of that name; 4090111 (409) the name is
taken. Every change is traced with SWR's names (`createTrigger`, `updateTrigger`,
`deleteTrigger`; a test delivery is `testTrigger`).

Firing (`triggers_fire_for_pushes`) takes only pushes that created a tag (`is_new`), like SWR:
re-pushing an existing tag, with the same image or another, fires nothing. Each matching
enabled trigger gets one TriggerDelivery per push, deduplicated by `event_key` (notifications
are at-least-once), sent by a `trigger_delivery` Job. `trigger_delivery_execute` makes one
attempt: 2xx succeeds; 408, 429, 5xx, timeouts and connection failures are retried with backoff
through the job lifecycle, the last one leaving the delivery failed; any other answer fails it
at once. Redirects are not followed.

`rules` validates and manages triggers; `deliveries` fires them and sends the webhooks.
"""

from dashboard.services.triggers.deliveries import (
    SIGNATURE_HEADER,
    delivery_signature,
    trigger_delivery_execute,
    trigger_test,
    triggers_fire_for_pushes,
)
from dashboard.services.triggers.rules import (
    TRIGGER_EXISTS,
    TRIGGER_NOT_FOUND,
    TRIGGERS_MAX,
    Workload,
    trigger_condition_clean,
    trigger_create,
    trigger_delete,
    trigger_enable_parse,
    trigger_get,
    trigger_list,
    trigger_set_enabled,
    trigger_update,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TRIGGERS_MAX",
    "TRIGGER_EXISTS",
    "TRIGGER_NOT_FOUND",
    "Workload",
    "delivery_signature",
    "trigger_condition_clean",
    "trigger_create",
    "trigger_delete",
    "trigger_delivery_execute",
    "trigger_enable_parse",
    "trigger_get",
    "trigger_list",
    "trigger_set_enabled",
    "trigger_test",
    "trigger_update",
    "triggers_fire_for_pushes",
]
