"""The index: registry notifications in, Repository / Manifest / Tag rows out.

Events are stored once by id (`events_store`) and turned into rows in arrival order by one
indexer at a time (`events_index_pending`). Manifests are immutable per digest, so each is
fetched once; config blobs shared by many manifests are fetched once too. Every write keeps the
newest state: an older event never overwrites a newer tag (`tag_set`), and a delete removes a
tag only when it was pushed before the delete (`tag_forget(before=...)`).

`events` (notifications and their replay), `manifests` (fetching and manifest rows) and `rows`
(repositories, tags, counters); everything other parts call is importable from here.
"""

from dashboard.services.index.events import (
    GIVE_UP_AFTER,
    INDEX_LOCK_KEY,
    INDEX_LOCK_TTL,
    INDEX_PENDING_KEY,
    INDEX_PENDING_TTL,
    cache_lock,
    events_index_drain,
    events_index_enqueue,
    events_index_pending,
    events_prune,
    events_store,
)
from dashboard.services.index.manifests import (
    FETCH_THREADS,
    IMAGE_CONFIG_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    PLACEHOLDER_ANNOTATION,
    PLACEHOLDER_CODE,
    ClientPool,
    FetchedManifest,
    FetchOutcome,
    configs_from_index,
    fetch_manifest,
    fetch_many,
    manifest_ensure_details,
    manifest_index,
    manifests_by_key,
    save_fetched,
)
from dashboard.services.index.rows import (
    manifest_forget,
    repositories_by_path,
    repositories_get_or_create_for_paths,
    repository_get_or_create_for_path,
    repository_refresh_counters,
    split_repository_path,
    tag_forget,
    tag_push_verdict,
    tag_set,
)

__all__ = [
    "FETCH_THREADS",
    "GIVE_UP_AFTER",
    "IMAGE_CONFIG_MEDIA_TYPES",
    "INDEX_LOCK_KEY",
    "INDEX_LOCK_TTL",
    "INDEX_PENDING_KEY",
    "INDEX_PENDING_TTL",
    "MANIFEST_MEDIA_TYPES",
    "PLACEHOLDER_ANNOTATION",
    "PLACEHOLDER_CODE",
    "ClientPool",
    "FetchOutcome",
    "FetchedManifest",
    "cache_lock",
    "configs_from_index",
    "events_index_drain",
    "events_index_enqueue",
    "events_index_pending",
    "events_prune",
    "events_store",
    "fetch_manifest",
    "fetch_many",
    "manifest_ensure_details",
    "manifest_forget",
    "manifest_index",
    "manifests_by_key",
    "repositories_by_path",
    "repositories_get_or_create_for_paths",
    "repository_get_or_create_for_path",
    "repository_refresh_counters",
    "save_fetched",
    "split_repository_path",
    "tag_forget",
    "tag_push_verdict",
    "tag_set",
]
