"""Image synchronization: SWR-SPEC.md §2.13 (the SDK's `CreateImageSyncRepoRequestBody`,
`SyncRepo`, `DeleteImageSyncRepoRequestBody`, `CreateManualImageSyncRepoRequestBody`, `SyncJob`,
`RegionInfo`). SWR's regions are Berth's remote registries, by name."""

from __future__ import annotations

from rest_framework import serializers

from dashboard.models import SyncJob


class SyncTargetSerializer(serializers.Serializer):
    remoteRegionId = serializers.CharField(help_text="A remote registry's name (GET regions).")
    remoteNamespace = serializers.CharField(help_text="The organization in the target.")


class SyncRepoCreateSerializer(SyncTargetSerializer):
    syncAuto = serializers.BooleanField(
        default=False, help_text="Copy tags pushed after the rule exists."
    )
    override = serializers.BooleanField(
        default=False, help_text="Replace a different image under the same tag in the target."
    )


class SyncImagesSerializer(SyncTargetSerializer):
    imageTag = serializers.ListField(
        child=serializers.CharField(allow_blank=True), help_text="The tags to copy (at most 500)."
    )
    override = serializers.BooleanField(default=False)


class SyncRepoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    namespace = serializers.CharField()
    repoName = serializers.CharField()
    remoteRegionId = serializers.CharField()
    remoteNamespace = serializers.CharField()
    syncAuto = serializers.BooleanField()
    override = serializers.BooleanField()
    domainID = serializers.CharField(allow_blank=True, help_text="The rule's creator's user id.")
    domainName = serializers.CharField(allow_blank=True, help_text="The rule's creator.")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class SyncJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    namespace = serializers.CharField()
    repoName = serializers.CharField()
    tag = serializers.CharField()
    remoteRegionId = serializers.CharField()
    remoteNamespace = serializers.CharField()
    override = serializers.BooleanField()
    status = serializers.ChoiceField(choices=SyncJob.Status.values)
    syncOperatorId = serializers.CharField(allow_blank=True, help_text="Empty for automatic sync.")
    syncOperatorName = serializers.CharField(
        allow_blank=True, help_text="Who asked, or who pushed (automatic sync)."
    )
    domainID = serializers.CharField(allow_blank=True, help_text="As syncOperatorId.")
    domainName = serializers.CharField(allow_blank=True, help_text="As syncOperatorName.")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class RegionSerializer(serializers.Serializer):
    regionID = serializers.CharField(help_text="A remote registry's name.")
