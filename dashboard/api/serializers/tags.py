"""Tags: SWR-SPEC.md §1.4, §2.5, §2.14, and the SDK's ShowReposTagResp (v2 list, `Tag` with a
capital T), ShowRepoTagResponse and ShowReposTagRespV3 (`tag`), CreateRepoTagRequestBody,
ListRepoAccessoriesResponse and ListReferencesResponse."""

from __future__ import annotations

from rest_framework import serializers


class _TagFields(serializers.Serializer):
    id = serializers.IntegerField()
    repo_id = serializers.IntegerField()
    image_id = serializers.CharField(
        allow_blank=True, help_text="The config digest's hex; empty for a multi-arch index."
    )
    manifest = serializers.CharField(
        allow_blank=True,
        help_text="The manifest as JSON text; empty when the index has not kept its text.",
    )
    digest = serializers.CharField(help_text="sha256:...")
    schema = serializers.IntegerField(help_text="Docker manifest schema: 2 (1 for schema 1).")
    path = serializers.CharField(help_text="host/organization/repository:tag")
    internal_path = serializers.CharField()
    size = serializers.IntegerField()
    is_trusted = serializers.BooleanField()
    created = serializers.DateTimeField(help_text="When the image was built (else pushed).")
    updated = serializers.DateTimeField(help_text="The tag's last push.")
    domain_id = serializers.CharField(allow_blank=True)
    tag_type = serializers.IntegerField(help_text="0 an image manifest, 1 a manifest list/index.")


class TagListItemSerializer(_TagFields):
    """ShowReposTagResp: the v2 list's tag object (`Tag`, capital T, as SWR answers)."""

    Tag = serializers.CharField()
    deleted = serializers.DateTimeField(allow_null=True, help_text="Always null.")
    scanned = serializers.BooleanField()


class TagSerializer(_TagFields):
    """ShowRepoTagResponse and ShowReposTagRespV3 (`tag`, lowercase)."""

    tag = serializers.CharField()


class TagListV3Serializer(serializers.Serializer):
    tags = TagSerializer(many=True)
    nextMarker = serializers.CharField(
        required=False, help_text="Send as `marker` for the next page; absent at the end."
    )
    has_more = serializers.BooleanField()


class TagCopySerializer(serializers.Serializer):
    source_tag = serializers.CharField(max_length=256)
    destination_tag = serializers.CharField(max_length=256, allow_blank=True)
    override = serializers.BooleanField(
        default=False, help_text="Replace an existing destination (else 409)."
    )


class AccessorySerializer(serializers.Serializer):
    """One cosign signature of the tag's image (the SDK's AccessoryListAccessories)."""

    id = serializers.IntegerField(help_text="The signature tag's id.")
    domain_id = serializers.CharField(allow_blank=True)
    namespace_name = serializers.CharField()
    repo_name = serializers.CharField()
    sig_tag = serializers.CharField(help_text="sha256-<hex>.sig")
    sig_digest = serializers.CharField()
    target_digest = serializers.CharField(help_text="The signed image's digest.")
    size = serializers.IntegerField()
    type = serializers.CharField(help_text="signature.cosign")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AccessoryListSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    accessories = AccessorySerializer(many=True)


class ReferenceListSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField())
    has_more = serializers.BooleanField()
    next_marker = serializers.CharField(
        required=False, help_text="Send as `marker` for the next page; absent at the end."
    )
