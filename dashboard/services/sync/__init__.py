"""Image synchronization: SWR's sync (SWR-SPEC.md §1.9, §2.13, §4.10, §5 item 18).

- Remote registries (SWR's "regions") are registered by superusers: a name, a URL, credentials
  for whatever challenge the remote answers (Basic, or a Bearer token from its realm), TLS
  verification. The password is sealed (`sealed.seal`) and never shown back nor logged.
- A rule (`sync_repo`) names a repository's target: a remote registry and an organization there,
  one rule per target; `sync_auto` copies tags pushed after the rule exists, `override` lets a
  copy replace a different image under the same tag in the target.
- A manual sync (`sync_images`) copies chosen tags now; it answers with the tags that could not
  start (unknown tags), as SWR does.
- Every copy is one `SyncJob` record per tag with SWR's statuses; the records of one request
  share a batch `Job` (kind `sync`) whose progress bar counts bytes.

The copy (`sync_execute`, run by the `sync_job` task through `job_run`) reads each tag's manifest
from Berth's registry (an index with all its children), checks the target, then copies blobs the
target lacks (streamed, SHA-256 checked on the way, chunked when large), child manifests by
digest, and last the tag. With `override` off a different image under the tag is left alone
(`existed`); an identical one is a `success` with nothing copied. Tags run concurrently
(BERTH_SYNC_CONCURRENCY). A retryable failure (a remote or Berth's registry unreachable, a 5xx)
puts the tag back to `waiting` and the job is re-sent with backoff; the next attempt skips tags
already finished and blobs the target already has, so nothing is copied twice (a blob cut off
half-way is sent again whole). A tag whose copy takes longer than BERTH_SYNC_TIMEOUT_SECONDS in
one attempt ends `timeout`; a cancelled job ends its unfinished records `cancel`.

Permissions: remote registries are for superusers; rules and manual syncs need Manage on the
repository; the records are for Read holders (selectors/sync.py).

`registries` manages the remote registries, `rules` the rules and what starts copies, `engine`
runs a batch Job; the copy itself is `dashboard/registry/copier.py` (registries only, no ORM).
"""

from dashboard.services.sync.engine import SYNC_EXISTED, SYNC_TIMED_OUT, sync_execute
from dashboard.services.sync.registries import (
    SEAL_PURPOSE,
    SYNC_EXISTS,
    SYNC_NOT_FOUND,
    remote_client,
    remote_registry_create,
    remote_registry_delete,
    remote_registry_get,
    remote_registry_test,
    remote_registry_update,
)
from dashboard.services.sync.rules import (
    TAGS_MAX,
    SyncStarted,
    sync_auto_for_pushes,
    sync_images,
    sync_rule_create,
    sync_rule_delete,
)

__all__ = [
    "SEAL_PURPOSE",
    "SYNC_EXISTED",
    "SYNC_EXISTS",
    "SYNC_NOT_FOUND",
    "SYNC_TIMED_OUT",
    "TAGS_MAX",
    "SyncStarted",
    "remote_client",
    "remote_registry_create",
    "remote_registry_delete",
    "remote_registry_get",
    "remote_registry_test",
    "remote_registry_update",
    "sync_auto_for_pushes",
    "sync_execute",
    "sync_images",
    "sync_rule_create",
    "sync_rule_delete",
]
