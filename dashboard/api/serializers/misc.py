"""Login commands, quotas, overview, reports and feature gates: SWR-SPEC.md §2.9-§2.11."""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers


def utc(moment: dt.datetime) -> str:
    """SWR's UTC timestamps: `2030-10-01T16:00:00.000Z`."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuthInfoSerializer(serializers.Serializer):
    auth = serializers.CharField(help_text="base64 of `username:password`.")


class DockerConfigSerializer(serializers.Serializer):
    """A docker `config.json` fragment: the registry host and the login's Basic credentials."""

    auths = serializers.DictField(
        child=AuthInfoSerializer(), help_text="The registry host (host[:port]) → its credentials."
    )


class QuotaSerializer(serializers.Serializer):
    quota_key = serializers.CharField(help_text="`namespace`: organizations the caller created.")
    quota_limit = serializers.IntegerField(help_text="How many they may create; -1: unlimited.")
    used = serializers.IntegerField()
    unit = serializers.CharField(allow_blank=True)


class QuotaListSerializer(serializers.Serializer):
    quotas = QuotaSerializer(many=True)


class OverviewSerializer(serializers.Serializer):
    domain_id = serializers.CharField(help_text="The caller's user id (Berth has no tenants).")
    domain_name = serializers.CharField(help_text="The caller's username.")
    namspace_num = serializers.IntegerField(help_text="Organizations the caller can see (sic).")
    repo_num = serializers.IntegerField(help_text="Repositories the caller can pull.")
    image_num = serializers.IntegerField(help_text="Tags in those repositories.")
    store_space = serializers.FloatField(help_text="Bytes those repositories store.")
    downflow_size = serializers.FloatField(
        help_text="Estimated bytes pulled from them, ever: each pull the token realm counted, "
        "as one average image of its repository."
    )


class ReportPointSerializer(serializers.Serializer):
    date = serializers.CharField(help_text="A UTC day, YYYY-MM-DD.")
    value = serializers.FloatField(help_text="Bytes (see the operation's description).")


class FeatureGatesSerializer(serializers.Serializer):
    enable_experience = serializers.BooleanField()
    enable_hss_service = serializers.BooleanField()
    enable_image_scan = serializers.BooleanField()
    enable_sm3 = serializers.BooleanField()
    enable_image_sync = serializers.BooleanField()
    enable_cci_service = serializers.BooleanField()
    enable_image_label = serializers.BooleanField()
    enable_pipeline = serializers.BooleanField()
    enable_authorization_token = serializers.BooleanField()
    enable_resource = serializers.BooleanField()
    enable_list_v3 = serializers.BooleanField()
    enable_image_quota = serializers.BooleanField()
