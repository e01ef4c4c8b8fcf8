"""Forms check the shape of what users type; the services decide (and name SWR's codes)."""

from __future__ import annotations

import datetime as dt
import re

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


# -- users -----------------------------------------------------------------------------------------


class UserPasswordForm(forms.Form):
    """A password typed twice, or a request to generate one. The service applies the password
    rules; PasswordInput never renders a value back."""

    password1 = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password again",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    generate = forms.BooleanField(label="Generate a password", required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        first, second = data.get("password1") or "", data.get("password2") or ""
        if data.get("generate"):
            if first or second:
                raise forms.ValidationError("Type a password or generate one, not both.")
        elif not first:
            raise forms.ValidationError("Type the password twice, or choose to generate one.")
        elif first != second:
            raise forms.ValidationError("The two passwords differ.")
        return data

    def chosen_password(self) -> str | None:
        """The typed password, or None to generate one (call after is_valid)."""
        return None if self.cleaned_data["generate"] else self.cleaned_data["password1"]


class UserCreateForm(UserPasswordForm):
    # Optional here: the service names what is wrong with any username or email (4001067, ...).
    username = forms.CharField(label="Username", required=False, strip=True)
    email = forms.CharField(label="Email", required=False, strip=True)
    full_name = forms.CharField(label="Full name", required=False, strip=True)

    field_order = ["username", "email", "full_name", "password1", "password2", "generate"]


# -- retention -------------------------------------------------------------------------------------


class RetentionPolicyForm(forms.Form):
    """A retention rule as the console asks for it; the service checks ranges and patterns."""

    template = forms.ChoiceField(
        label="Policy type",
        choices=[("tag_rule", "Number of tags"), ("date_rule", "Number of days")],
        required=False,
    )
    value = forms.CharField(label="Count limit", required=False, max_length=10)
    exact_tags = forms.CharField(
        label="Tags never deleted",
        required=False,
        help_text="Exact tags, separated by commas or spaces.",
        widget=forms.TextInput(attrs={"placeholder": "latest, stable", "spellcheck": "false"}),
    )
    regexes = forms.CharField(
        label="Regular expressions never deleted",
        required=False,
        help_text="One per line; a tag matching any of them anywhere is kept (^ anchors it).",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "^release-", "spellcheck": "false"}),
    )

    def rule(self) -> dict:
        """{template, value, tag_selectors} in the service's terms (SWR's selector form)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        labels = [t for t in re.split(r"[\s,;]+", data.get("exact_tags", "")) if t]
        patterns = [line.strip() for line in data.get("regexes", "").splitlines() if line.strip()]
        return {
            "template": data.get("template") or "",
            "value": data.get("value", "").strip(),
            "tag_selectors": [{"kind": "label", "pattern": t} for t in dict.fromkeys(labels)]
            + [{"kind": "regexp", "pattern": p} for p in dict.fromkeys(patterns)],
        }

    @classmethod
    def for_policy(cls, selectors: list[dict], template: str, value: int) -> RetentionPolicyForm:
        """The form filled with a saved policy's rule."""
        return cls(
            initial={
                "template": template,
                "value": str(value),
                "exact_tags": ", ".join(s["pattern"] for s in selectors if s["kind"] == "label"),
                "regexes": "\n".join(s["pattern"] for s in selectors if s["kind"] == "regexp"),
            }
        )


# -- sync ------------------------------------------------------------------------------------------


class RemoteRegistryForm(forms.Form):
    """A remote registry as typed; the service judges the name, URL and lengths (4000014)."""

    name = forms.CharField(
        label="Name (region id)",
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. eu-west-2", "spellcheck": "false"}),
    )
    url = forms.CharField(
        label="URL",
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "https://registry.example.com"}),
    )
    username = forms.CharField(label="User name", required=False, strip=True)
    # Never rendered back: a blank password on a change keeps the stored one.
    password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    verify_tls = forms.BooleanField(label="Verify TLS certificates", required=False)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def values(self) -> dict[str, object]:
        """The typed values under the service's argument names."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name, field.initial) for name, field in self.fields.items()}


class SyncTargetForm(forms.Form):
    """A target: remote registry (by name) and organization there, plus the rule's switches."""

    remote = forms.CharField(label="Target registry", required=False, strip=True)
    remote_namespace = forms.CharField(label="Target organization", required=False, strip=True)
    sync_auto = forms.BooleanField(label="Sync new pushes automatically", required=False)
    override = forms.BooleanField(label="Overwrite a different image", required=False)

    def values(self) -> dict[str, object]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name, "") for name in self.fields}


class SyncImagesForm(SyncTargetForm):
    """A manual sync: tags ticked in the list and tags typed, to one target."""

    tags = forms.MultipleChoiceField(label="Tags", required=False)
    more_tags = forms.CharField(
        label="Other tags",
        required=False,
        help_text="Separated by commas or spaces.",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Any ticked value is accepted here; the service reports unknown tags.
        field = self.fields["tags"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.valid_value = lambda value: True  # type: ignore[method-assign]

    def tag_list(self) -> list[str]:
        """Ticked and typed tags, in order, each once."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        typed = [t for t in re.split(r"[\s,;]+", data.get("more_tags", "")) if t]
        return list(dict.fromkeys([*data.get("tags", []), *typed]))


# -- triggers --------------------------------------------------------------------------------------


class TriggerForm(forms.Form):
    """A trigger as typed; the service judges every value (SWR's 4000014 says what is wrong).

    `name` is read when adding only. When changing, a blank secret keeps the current one unless
    `clear_secret` is ticked, and the extra headers are kept unless `replace_headers` is.
    """

    name = forms.CharField(label="Name", required=False, strip=True)
    trigger_type = forms.CharField(label="Condition", required=False)
    condition = forms.CharField(label="Tags or expression", required=False, strip=False)
    url = forms.CharField(label="URL", required=False)
    secret = forms.CharField(
        label="Secret", required=False, strip=False, widget=forms.PasswordInput
    )
    clear_secret = forms.BooleanField(label="Remove the secret", required=False)
    headers = forms.CharField(
        label="Extra headers", required=False, strip=False, widget=forms.Textarea
    )
    replace_headers = forms.BooleanField(label="Replace the extra headers", required=False)
    payload_format = forms.CharField(label="Payload", required=False)
    enabled = forms.BooleanField(label="Enabled", required=False)

    def _data(self) -> dict:
        self.is_valid()
        return getattr(self, "cleaned_data", {})

    def text(self, field: str) -> str:
        """The text typed in `field` ("" when absent)."""
        return str(self._data().get(field) or "")

    def is_enabled(self) -> bool:
        return bool(self._data().get("enabled"))

    def header_map(self) -> dict[str, str]:
        """The extra headers, one `Name: value` per line (blank lines skipped).

        Raises ServiceError 4000014 (400) for a line without a name and a colon.
        """
        from dashboard.services.errors import INVALID_PARAMETERS, ServiceError

        headers: dict[str, str] = {}
        for number, line in enumerate(self._data().get("headers", "").splitlines(), 1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise ServiceError(
                    INVALID_PARAMETERS, f"Header line {number} is not `Name: value`.", 400
                )
            if name.strip() in headers:
                raise ServiceError(
                    INVALID_PARAMETERS, f"The header {name.strip()} is given twice.", 400
                )
            headers[name.strip()] = value
        return headers

    def secret_change(self) -> str | None:
        """The new secret ("" removes it), or None to keep the current one."""
        data = self._data()
        if data.get("clear_secret"):
            return ""
        return data.get("secret") or None

    def headers_change(self) -> dict[str, str] | None:
        """The new extra headers, or None to keep the current ones."""
        return self.header_map() if self._data().get("replace_headers") else None


class TriggerEnableForm(forms.Form):
    # SWR's string "true" or "false"; the service refuses anything else.
    enable = forms.CharField(required=False)
