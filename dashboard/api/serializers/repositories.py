"""Repositories (SWR images): SWR-SPEC.md §2.4, §2.14, and the SDK's CreateRepoRequestBody,
UpdateRepoRequestBody, ShowRepositoryResponse, ShowReposResp and ShowReposRespV3."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from dashboard.models import Category
from dashboard.services.errors import ServiceError

IS_PUBLIC_INVALID = "4001009"  # is_public must be set to true or false


@extend_schema_field(OpenApiTypes.BOOL)
class IsPublicField(serializers.Field):
    """SWR's `is_public`: required, and JSON `true` or `false` only (no "yes", 1 or "true"),
    else 400 with SWR's own code 4001009."""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is empty or data is None:
            raise ServiceError(IS_PUBLIC_INVALID, "is_public must be set to true or false.", 400)
        return False, data

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise ServiceError(IS_PUBLIC_INVALID, "is_public must be set to true or false.", 400)
        return data

    def to_representation(self, value: Any) -> bool:
        return bool(value)


def _description(**kwargs: Any) -> serializers.CharField:
    # No max_length here: over 30,000 characters is SWR's 413 (4131012), which the service gives.
    return serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="At most 30,000 characters (longer: 413, SVCSTG.SWR.4131012).",
        **kwargs,
    )


class RepositoryCreateSerializer(serializers.Serializer):
    repository = serializers.CharField(
        max_length=1024,
        allow_blank=True,
        help_text="The repository name (SWR's rule; may contain `/`).",
    )
    is_public = IsPublicField(help_text="true: anyone signed in pulls it.")
    category = serializers.ChoiceField(choices=Category.values, default=Category.OTHER)
    description = _description(default="")


class RepositoryUpdateSerializer(serializers.Serializer):
    is_public = IsPublicField(help_text="Required even when only other attributes change.")
    category = serializers.ChoiceField(
        choices=Category.values, required=False, help_text="Unchanged when left out."
    )
    description = _description(required=False)


class RepositorySerializer(serializers.Serializer):
    """ShowRepositoryResponse."""

    id = serializers.IntegerField()
    ns_id = serializers.IntegerField(help_text="The organization's id.")
    name = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    creator_id = serializers.CharField(
        allow_blank=True, help_text="The creating user's id; empty when a push created it."
    )
    creator_name = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField(help_text="Bytes of the tagged images.")
    is_public = serializers.BooleanField()
    num_images = serializers.IntegerField(help_text="The number of tags.")
    num_download = serializers.IntegerField()
    url = serializers.CharField(allow_blank=True, help_text="Logo (unused, empty).")
    path = serializers.CharField(help_text="host/organization/repository")
    internal_path = serializers.CharField(help_text="The registry's address as Berth reaches it.")
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField(help_text="The last push.")
    domain_id = serializers.CharField(allow_blank=True, help_text="Empty: Berth has no tenants.")
    priority = serializers.IntegerField()


class RepositoryListItemSerializer(serializers.Serializer):
    """ShowReposResp (the v2 lists)."""

    name = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField()
    is_public = serializers.BooleanField()
    num_images = serializers.IntegerField()
    num_download = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    logo = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)
    path = serializers.CharField()
    internal_path = serializers.CharField()
    domain_name = serializers.CharField(allow_blank=True)
    namespace = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    status = serializers.BooleanField(
        help_text="Shared with me: the share still grants pull. Otherwise false."
    )
    total_range = serializers.IntegerField(help_text="How many the whole list holds.")


class RepositoryV3Serializer(serializers.Serializer):
    """ShowReposRespV3."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField()
    is_public = serializers.BooleanField()
    num_images = serializers.IntegerField()
    num_download = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    domain_name = serializers.CharField(allow_blank=True)
    namespace_name = serializers.CharField()
    status = serializers.BooleanField()


class RepositoryListV3Serializer(serializers.Serializer):
    repos = RepositoryV3Serializer(many=True)
    nextMarker = serializers.IntegerField(
        required=False, help_text="Send as `marker` for the next page; absent at the end."
    )
