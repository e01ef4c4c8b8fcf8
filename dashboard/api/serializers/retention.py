"""Image retention policies and their histories: SWR-SPEC.md §2.8 (the SDK's `Retention`, `Rule`,
`TagSelector` and `RetentionLog`)."""

from __future__ import annotations

from rest_framework import serializers

from dashboard.models import RetentionPolicy


class TagSelectorSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["label", "regexp"],
        help_text="label: an exact tag; regexp: a regular expression searched in tag names.",
    )
    pattern = serializers.CharField()


class RuleParamsSerializer(serializers.Serializer):
    days = serializers.CharField(
        required=False, help_text="date_rule: keep tags pushed within this many days (1-365)."
    )
    num = serializers.CharField(
        required=False, help_text="tag_rule: keep this many most recently pushed tags (1-1000)."
    )


class RuleSerializer(serializers.Serializer):
    template = serializers.ChoiceField(
        choices=RetentionPolicy.Template.values,
        help_text="Cannot change once the policy exists.",
    )
    params = RuleParamsSerializer(help_text='{"days": "N"} or {"num": "N"}; SWR sends strings.')
    tag_selectors = TagSelectorSerializer(
        many=True, required=False, help_text="Exceptions: tags the policy never deletes."
    )


class RetentionBodySerializer(serializers.Serializer):
    algorithm = serializers.ChoiceField(choices=["or"])
    rules = serializers.ListField(
        child=RuleSerializer(), min_length=1, max_length=1, help_text="Exactly one rule."
    )


class RetentionIdSerializer(serializers.Serializer):
    id = serializers.IntegerField()


class RetentionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    algorithm = serializers.CharField()
    rules = RuleSerializer(many=True)
    scope = serializers.CharField(allow_blank=True, help_text="Reserved; empty.")


class RetentionLogSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField(help_text="When the tag was deleted (UTC).")
    namespace = serializers.CharField()
    repo = serializers.CharField()
    retention_id = serializers.IntegerField()
    rule_type = serializers.CharField(help_text="The rule that deleted it, as a JSON string.")
    tag = serializers.CharField()


class RetentionLogListSerializer(serializers.Serializer):
    retention_log = RetentionLogSerializer(many=True)
    total = serializers.IntegerField()
