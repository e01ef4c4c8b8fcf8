"""Triggers: SWR-SPEC.md §2.12 (the SDK's `CreateTriggerRequestBody`, `Trigger`,
`TriggerHistories`, `UpdateTriggerRequestBody`), with Berth's webhook fields beside SWR's."""

from __future__ import annotations

from rest_framework import serializers

from dashboard.models import Trigger
from dashboard.services.triggers.rules import ACTIONS, APP_TYPES, TRIGGER_MODES

_ENABLE = ["true", "false"]


def _optional(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, help_text=help_text or None)


class TriggerCreateSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="1-64 characters: a letter, then letters, digits, _ -.")
    trigger_type = serializers.ChoiceField(choices=Trigger.Type.values)
    condition = _optional("all: .* (or empty); tag: v1;v2; regular: a regular expression.")
    enable = serializers.ChoiceField(choices=_ENABLE, help_text='A string: "true" or "false".')
    action = serializers.ChoiceField(choices=ACTIONS, default="update")
    app_type = serializers.ChoiceField(choices=["", *APP_TYPES], required=False)
    application = _optional("The workload's name, or, without `url`, the webhook's http(s) URL.")
    cluster_id = _optional()
    cluster_name = _optional()
    cluster_ns = _optional()
    container = _optional()
    trigger_mode = serializers.ChoiceField(choices=["", *TRIGGER_MODES], required=False)
    # Berth's webhook (Berth does not deploy; the receiver does, from the payload's workload).
    url = _optional("Berth: the webhook to POST to.")
    secret = _optional("Berth: signs each body (X-Berth-Signature-256); never shown again.")
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Berth: extra request headers; their values are never shown again.",
    )
    payload_format = serializers.ChoiceField(
        choices=Trigger.PayloadFormat.values, default=Trigger.PayloadFormat.BERTH
    )


class TriggerUpdateSerializer(serializers.Serializer):
    enable = serializers.ChoiceField(choices=_ENABLE, help_text='A string: "true" or "false".')


class TriggerHistorySerializer(serializers.Serializer):
    action = serializers.CharField()
    app_type = serializers.CharField(allow_blank=True)
    application = serializers.CharField(allow_blank=True)
    cluster_id = serializers.CharField(allow_blank=True)
    cluster_name = serializers.CharField(allow_blank=True)
    cluster_ns = serializers.CharField(allow_blank=True)
    condition = serializers.CharField()
    container = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    creator_name = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True, help_text="What the webhook answered.")
    result = serializers.ChoiceField(choices=["success", "failed"])
    tag = serializers.CharField(allow_blank=True)


class TriggerSerializer(serializers.Serializer):
    name = serializers.CharField()
    action = serializers.CharField()
    app_type = serializers.CharField(allow_blank=True)
    application = serializers.CharField(allow_blank=True)
    cluster_id = serializers.CharField(allow_blank=True)
    cluster_name = serializers.CharField(allow_blank=True)
    cluster_ns = serializers.CharField(allow_blank=True)
    container = serializers.CharField(allow_blank=True)
    trigger_mode = serializers.CharField(allow_blank=True)
    trigger_type = serializers.CharField()
    condition = serializers.CharField()
    enable = serializers.ChoiceField(choices=_ENABLE)
    created_at = serializers.DateTimeField()
    creator_name = serializers.CharField(allow_blank=True)
    trigger_history = TriggerHistorySerializer(
        many=True, help_text="The newest finished deliveries (at most 100), newest first."
    )
    url = serializers.CharField(help_text="Berth: the webhook.")
    payload_format = serializers.CharField(help_text="Berth: berth or cloudevents.")
    header_names = serializers.ListField(
        child=serializers.CharField(), help_text="Berth: the extra headers sent (names only)."
    )
