"""Organizations (SWR namespaces): SWR-SPEC.md §2.2."""

from __future__ import annotations

from rest_framework import serializers


class NamespaceCreateSerializer(serializers.Serializer):
    namespace = serializers.CharField(
        max_length=256, allow_blank=True, help_text="The organization name (SWR's naming rule)."
    )


class NamespaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    creator_name = serializers.CharField(allow_blank=True)
    auth = serializers.IntegerField(help_text="The caller's permission: 7 Manage, 3 Write, 1 Read.")


class NamespaceListSerializer(serializers.Serializer):
    namespaces = NamespaceSerializer(many=True)
