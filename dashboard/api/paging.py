"""SWR's list parameters (SWR-SPEC.md §2.0, §5 item 21): `offset`/`limit`, `order_column`/
`order_type`, and the older single `filter=key1::value1|key2::value2` form, which wins over the
separate parameters when both are sent. Paged answers carry `Content-Range: offset-count/total`.
The marker lists (v3, tag references) take `limit` and an opaque `marker` instead (§2.14).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.services.errors import INVALID_PARAMETERS, ServiceError

INVALID_FILTER = "4001035"  # Invalid filtering criteria
INVALID_PAGE_SIZE = "4000056"  # Invalid page size
MAX_LIMIT = 1000
_PAGING_KEYS = ("offset", "limit", "order_column", "order_type")


@dataclass(frozen=True)
class ListQuery:
    """What a list request asked for, validated."""

    #: The other keys the endpoint accepts (name filters, flags), as sent.
    params: dict[str, str] = field(default_factory=dict)
    offset: int = 0
    #: None: everything (an endpoint without a default page size, asked for no page).
    limit: int | None = None
    order_column: str | None = None
    descending: bool = True
    paged: bool = False

    def get(self, key: str, default: str = "") -> str:
        return self.params.get(key, default)

    def window(self, total: int) -> slice:
        """The slice of the ordered results this page covers."""
        end = total if self.limit is None else self.offset + self.limit
        return slice(self.offset, end)


def _bad(message: str, code: str = INVALID_PARAMETERS) -> ServiceError:
    return ServiceError(code, message, 400)


def _filter(text: str, allowed: set[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in text.split("|"):
        key, sep, value = part.partition("::")
        key = key.strip()
        if not sep or not key:
            raise _bad(
                f"filter must be key::value pairs joined by |, not {part!r}.", INVALID_FILTER
            )
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise _bad(f"filter has an unknown key {key!r} (known: {known}).", INVALID_FILTER)
        values[key] = value.strip()
    return values


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        code = INVALID_PAGE_SIZE if name == "limit" else INVALID_PARAMETERS
        raise _bad(f"{name} must be a whole number, not {text[:40]!r}.", code) from None


def list_query(
    request: Request,
    *,
    keys: Iterable[str] = (),
    columns: Iterable[str] = (),
    default_limit: int | None = 100,
    require_page: bool = False,
) -> ListQuery:
    """The list parameters of `request` for an endpoint accepting `keys` and ordering by
    `columns`. Raises ServiceError 400: 4001035 for a malformed filter or one with unknown
    keys; 4000056 for a limit that is not 1-1000; 4000014 for a negative offset, an offset
    without a limit where one is required, an unknown order column or type, or only one of
    `order_column`/`order_type`."""
    allowed = set(keys) | set(_PAGING_KEYS)
    query = request.query_params
    raw = (
        _filter(query["filter"], allowed)
        if query.get("filter")
        else {key: query[key] for key in allowed if query.get(key, "") != ""}
    )
    offset_text, limit_text = raw.get("offset"), raw.get("limit")
    if require_page and (offset_text is None or limit_text is None):
        raise _bad("Send both offset and limit (e.g. filter=offset::0|limit::100).")
    offset = _integer("offset", offset_text) if offset_text is not None else 0
    if offset < 0:
        raise _bad("offset must be 0 or more.")
    limit = _integer("limit", limit_text) if limit_text is not None else default_limit
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise _bad(f"limit must be from 1 to {MAX_LIMIT}.", INVALID_PAGE_SIZE)
    column, order = raw.get("order_column"), raw.get("order_type")
    if (column is None) != (order is None):
        raise _bad("Send order_column and order_type together.")
    if column is not None and column not in set(columns):
        raise _bad(f"order_column must be one of {', '.join(sorted(columns))}.")
    if order is not None and order not in ("asc", "desc"):
        raise _bad("order_type must be asc or desc.")
    return ListQuery(
        params={k: v for k, v in raw.items() if k not in _PAGING_KEYS},
        offset=offset,
        limit=limit,
        order_column=column,
        descending=order != "asc",
        paged=offset_text is not None or limit_text is not None,
    )


def content_range(response: Response, *, offset: int, count: int, total: int) -> Response:
    """Set SWR's `Content-Range: {offset}-{count}/{total}` (count: the items in this page)."""
    response["Content-Range"] = f"{offset}-{count}/{total}"
    return response


@dataclass(frozen=True)
class MarkerQuery:
    """What a marker list request asked for, validated."""

    params: dict[str, str] = field(default_factory=dict)
    limit: int = 100
    #: The marker as sent (None: the first page).
    marker: str | None = None
    order_column: str | None = None
    descending: bool = True

    def get(self, key: str, default: str = "") -> str:
        return self.params.get(key, default)


def marker_query(
    request: Request,
    *,
    keys: Iterable[str] = (),
    columns: Iterable[str] = (),
    default_limit: int = 100,
    max_limit: int = MAX_LIMIT,
) -> MarkerQuery:
    """The parameters of a marker list accepting `keys` and ordering by `columns`. Raises
    ServiceError 400: 4000056 for a limit that is not 1-`max_limit`; 4000014 for an unknown
    order column or type, or only one of `order_column`/`order_type`."""
    query = request.query_params
    limit_text = query.get("limit", "")
    limit = _integer("limit", limit_text) if limit_text != "" else default_limit
    if not 1 <= limit <= max_limit:
        raise _bad(f"limit must be from 1 to {max_limit}.", INVALID_PAGE_SIZE)
    column, order = query.get("order_column") or None, query.get("order_type") or None
    if (column is None) != (order is None):
        raise _bad("Send order_column and order_type together.")
    if column is not None and column not in set(columns):
        raise _bad(f"order_column must be one of {', '.join(sorted(columns))}.")
    if order is not None and order not in ("asc", "desc"):
        raise _bad("order_type must be asc or desc.")
    return MarkerQuery(
        params={key: query[key] for key in keys if query.get(key, "") != ""},
        limit=limit,
        marker=query.get("marker") or None,
        order_column=column,
        descending=order != "asc",
    )


def query_bool(
    query: ListQuery | MarkerQuery, key: str, *, code: str = INVALID_PARAMETERS
) -> bool | None:
    """The boolean query parameter `key` (`true`/`false`, any case), None when not sent.
    Raises ServiceError 400 with `code` for anything else."""
    text = query.get(key).strip().lower()
    if text == "":
        return None
    if text not in ("true", "false"):
        raise _bad(f"{key} must be true or false.", code)
    return text == "true"
