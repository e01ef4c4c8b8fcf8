"""Forms check the shape of what users type; the services decide (and name SWR's codes)."""

from __future__ import annotations

from django import forms

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
