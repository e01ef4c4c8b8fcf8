from dashboard.models.access import Level, OrganizationPermission, RepositoryPermission
from dashboard.models.events import RegistryEvent
from dashboard.models.jobs import Job
from dashboard.models.organizations import Organization
from dashboard.models.repositories import Category, Manifest, Repository, Tag

__all__ = [
    "Category",
    "Job",
    "Level",
    "Manifest",
    "Organization",
    "OrganizationPermission",
    "RegistryEvent",
    "Repository",
    "RepositoryPermission",
    "Tag",
]
