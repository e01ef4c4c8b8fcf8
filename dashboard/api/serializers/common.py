"""Shapes every part of the API shares."""

from __future__ import annotations

from rest_framework import serializers


class LinkSerializer(serializers.Serializer):
    href = serializers.CharField()
    rel = serializers.CharField()


class VersionDetailSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="v2 or v3")
    links = LinkSerializer()
    version = serializers.CharField(help_text="The highest micro-version supported.")
    min_version = serializers.CharField()
    status = serializers.ChoiceField(choices=["CURRENT", "SUPPORTED", "DEPRECATED"])
    updated = serializers.CharField(help_text="UTC, ISO 8601.")


class VersionListSerializer(serializers.Serializer):
    versions = VersionDetailSerializer(many=True)


class VersionSerializer(serializers.Serializer):
    version = VersionDetailSerializer()


class ErrorItemSerializer(serializers.Serializer):
    errorCode = serializers.CharField()
    errorMessage = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)


class ErrorDetailSerializer(serializers.Serializer):
    error_code = serializers.CharField()
    error_msg = serializers.CharField(allow_blank=True)


class ErrorSerializer(serializers.Serializer):
    """SWR's combined error body (legacy `errors` and current `error_code`/`error_msg`)."""

    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]  # SWR's field name
    error_code = serializers.CharField(help_text="e.g. SVCSTG.SWR.4010000")
    error_msg = serializers.CharField()
    details = ErrorDetailSerializer(many=True)
