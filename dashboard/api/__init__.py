"""The SWR-compatible management API (`/v2/manage/...`, `/v3/manage/...`): a third front door,
beside the pages and the tasks, onto the same services (SWR-SPEC.md §2, §3)."""
