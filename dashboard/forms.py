"""Forms check the shape of what users type; the services decide (and name SWR's codes)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from dashboard.models import Category


class OrganizationCreateForm(forms.Form):
    # Optional here: the service names what is wrong with any name, blank included (4001028).
    name = forms.CharField(
        label="Organization name",
        required=False,
        strip=True,
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. team-a", "autocomplete": "off", "spellcheck": "false"}
        ),
    )


class RepositoryEditForm(forms.Form):
    is_public = forms.TypedChoiceField(
        label="Type",
        choices=[("false", "Private"), ("true", "Public")],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
    )
    category = forms.ChoiceField(label="Category", choices=Category.choices)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 5})
    )


class RepositoryFilterForm(forms.Form):
    """The image list's filters; anything malformed is ignored rather than refused."""

    q = forms.CharField(required=False, label="Name")
    organization = forms.CharField(required=False)
    category = forms.ChoiceField(
        required=False, choices=[("", "All categories"), *Category.choices]
    )
    visibility = forms.ChoiceField(
        required=False,
        choices=[("", "Public and private"), ("public", "Public"), ("private", "Private")],
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("-updated", "Recently updated"),
            ("updated", "Least recently updated"),
            ("name", "Name (A-Z)"),
            ("-name", "Name (Z-A)"),
            ("-tags", "Most tags"),
            ("tags", "Fewest tags"),
        ],
    )

    def filters(self) -> dict[str, str]:
        """The valid filters as keyword arguments for `repository_list_for_user`."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "query": data.get("q", ""),
            "organization": data.get("organization", ""),
            "category": data.get("category", ""),
            "visibility": data.get("visibility", ""),
            "sort": data.get("sort") or "-updated",
        }


class TagFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Tag")
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("-pushed", "Newest push first"),
            ("pushed", "Oldest push first"),
            ("name", "Name (A-Z)"),
            ("-name", "Name (Z-A)"),
        ],
    )

    def filters(self) -> dict[str, str]:
        """The valid filters as keyword arguments for `tag_list`."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"query": data.get("q", ""), "sort": data.get("sort") or "-pushed"}


class LoginSecretForm(forms.Form):
    """How long a temporary login command stays valid (SWR: 15 minutes to 24 hours)."""

    validity = forms.TypedChoiceField(
        label="Valid for",
        choices=[
            ("900", "15 minutes"),
            ("3600", "1 hour"),
            ("21600", "6 hours"),
            ("86400", "24 hours"),
        ],
        coerce=int,
        initial="86400",
    )


class AccessKeyForm(forms.Form):
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": "e.g. CI pipeline", "autocomplete": "off"}),
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "e.g. deploy script", "autocomplete": "off"}),
    )
    expires_on = forms.DateField(
        label="Expires after",
        required=False,
        help_text="Valid until the end of this day (UTC). Empty: until revoked.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_expires_on(self) -> object:
        value = self.cleaned_data.get("expires_on")
        if value is not None and value < timezone.now().date():
            raise forms.ValidationError("Choose today or a later day.")
        return value


class PermissionGrantForm(forms.Form):
    # `user:<name>` or `team:<name>`; the view resolves it and the service judges the level.
    principal = forms.CharField(label="User or team", max_length=200)
    level = forms.IntegerField(label="Permission", required=False)


class PermissionLevelForm(forms.Form):
    level = forms.IntegerField(label="Permission", required=False)


class TeamCreateForm(forms.Form):
    name = forms.CharField(label="Team name", required=False, strip=True, max_length=200)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class TeamUserForm(forms.Form):
    username = forms.CharField(label="User", max_length=150, strip=True)


class ShareForm(forms.Form):
    """A share's validity and description; the team comes from the picker (create only)."""

    team = forms.CharField(label="Team", required=False, max_length=200)
    valid_until = forms.DateField(
        label="Valid until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    forever = forms.BooleanField(label="Permanently valid", required=False)
    # No max_length: the service names SWR's code for an over-long description (4131012).
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea)

    def deadline(self) -> dt.datetime | None:
        """The end of the chosen day in the current time zone, or None for "permanently valid".

        Raises ServiceError 4000014 (400) when neither a valid date nor "permanently valid" is
        given.
        """
        from dashboard.services.errors import INVALID_PARAMETERS, ServiceError

        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("forever"):
            return None
        day = data.get("valid_until")
        if day is None:
            raise ServiceError(
                INVALID_PARAMETERS, "Choose a date the share is valid until, or forever.", 400
            )
        return timezone.make_aware(dt.datetime.combine(day, dt.time.max))
