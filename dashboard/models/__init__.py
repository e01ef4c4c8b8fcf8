from dashboard.models.access import Level, OrganizationPermission, RepositoryPermission
from dashboard.models.audit import AuditEvent
from dashboard.models.credentials import AccessKey, ApiToken, LoginSecret
from dashboard.models.events import RegistryEvent
from dashboard.models.jobs import Job
from dashboard.models.organizations import Organization
from dashboard.models.people import TeamProfile
from dashboard.models.repositories import Category, Manifest, Repository, Tag
from dashboard.models.requests import AccessRequest
from dashboard.models.sharing import Share

__all__ = [
    "AccessKey",
    "AccessRequest",
    "ApiToken",
    "AuditEvent",
    "Category",
    "Job",
    "Level",
    "LoginSecret",
    "Manifest",
    "Organization",
    "OrganizationPermission",
    "RegistryEvent",
    "Repository",
    "RepositoryPermission",
    "Share",
    "Tag",
    "TeamProfile",
]
