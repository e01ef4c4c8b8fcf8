"""`level|request_levels`: the levels worth asking for by someone who holds `level`."""

from django import template

from dashboard.views.access_requests import request_levels as _request_levels

register = template.Library()


@register.filter
def request_levels(level: int | None) -> list[tuple[int, str]]:
    return _request_levels(int(level or 0))
