"""Sharing a private image with accounts (SWR-SPEC.md §2.7); Berth's accounts are teams, so
`access_domain` is a team name."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

FOREVER = "forever"


class DeadlineField(serializers.CharField):
    """`forever` (None) or a time (UTC unless it names its offset) such as
    `2030-10-01T16:00:00.000Z`."""

    def to_internal_value(self, data: Any) -> dt.datetime | None:  # type: ignore[override]
        text = super().to_internal_value(data).strip()
        if len(text) > 64:  # not a max_length validator: those would run on the result
            raise serializers.ValidationError("The deadline is at most 64 characters.")
        if text == FOREVER:
            return None
        try:
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            raise serializers.ValidationError(
                "Send `forever` or a UTC time such as 2030-10-01T16:00:00.000Z."
            )
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            raise serializers.ValidationError("The deadline is out of range.") from None


_DEADLINE_HELP = "Until when the share is valid: a UTC time (ISO 8601) or `forever`."
_PERMIT_HELP = "Only `read` (pull)."
_DESCRIPTION_HELP = "At most 1,000 characters (413 with SVCSTG.SWR.4131012 over)."


class ShareCreateSerializer(serializers.Serializer):
    access_domain = serializers.CharField(max_length=150, help_text="The team to share with.")
    permit = serializers.CharField(max_length=20, help_text=_PERMIT_HELP)
    deadline = DeadlineField(help_text=_DEADLINE_HELP)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_DESCRIPTION_HELP
    )


class ShareUpdateSerializer(serializers.Serializer):
    permit = serializers.CharField(max_length=20, help_text=_PERMIT_HELP)
    deadline = DeadlineField(help_text=_DEADLINE_HELP)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_DESCRIPTION_HELP
    )


class ShareSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    repository = serializers.CharField()
    access_domain = serializers.CharField(help_text="The team it is shared with.")
    permit = serializers.CharField()
    deadline = serializers.CharField(help_text="A UTC time, or `forever`.")
    description = serializers.CharField(allow_blank=True)
    creator_id = serializers.CharField(allow_blank=True, help_text="The sharer's user id.")
    creator_name = serializers.CharField(allow_blank=True)
    created = serializers.CharField(help_text="UTC, ISO 8601.")
    updated = serializers.CharField(help_text="UTC, ISO 8601.")
    status = serializers.BooleanField(help_text="true while valid, false once expired.")


class ShareExistsSerializer(serializers.Serializer):
    """Whether the image is shared with the team; the share's fields when it is."""

    exist = serializers.BooleanField()
    namespace = serializers.CharField(required=False)
    repository = serializers.CharField(required=False)
    access_domain = serializers.CharField(required=False)
    permit = serializers.CharField(required=False)
    deadline = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    creator_id = serializers.CharField(required=False, allow_blank=True)
    creator_name = serializers.CharField(required=False, allow_blank=True)
    created = serializers.CharField(required=False)
    updated = serializers.CharField(required=False)
    status = serializers.BooleanField(required=False)
