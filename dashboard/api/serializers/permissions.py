"""Organization and image permissions: SWR-SPEC.md §2.3 and §2.6. Bodies are bare JSON arrays.

Berth also grants to teams: a team is written `team:<name>` in both `user_id` and `user_name`
(a Berth extension; SWR grants to IAM users only)."""

from __future__ import annotations

from rest_framework import serializers

PRINCIPAL_HELP = (
    "A user's numeric id as a string, or `team:<name>` for a team (Berth extension; user_name "
    "is then the same `team:<name>`)."
)


class UserAuthSerializer(serializers.Serializer):
    user_id = serializers.CharField(max_length=200, help_text=PRINCIPAL_HELP)
    user_name = serializers.CharField(
        max_length=200, help_text="The user's name (must be the one user_id names)."
    )
    auth = serializers.IntegerField(help_text="7 Manage, 3 Write, 1 Read.")


class UserIdListSerializer(serializers.ListSerializer):
    """DELETE's body: the user ids (or `team:<name>`) whose permissions go."""

    child = serializers.CharField(max_length=200, help_text=PRINCIPAL_HELP)


class NamespaceAuthSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    creator_name = serializers.CharField(allow_blank=True)
    self_auth = UserAuthSerializer(help_text="The caller and their level on the organization.")
    others_auths = UserAuthSerializer(many=True, help_text="Everyone else's grants.")


class RepositoryAuthSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="The repository's name (without the organization).")
    self_auth = UserAuthSerializer(help_text="The caller and their level on the image.")
    others_auths = UserAuthSerializer(
        many=True, help_text="The image's own grants (not those of its organization)."
    )
