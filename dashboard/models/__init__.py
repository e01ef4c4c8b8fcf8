from dashboard.models.access import Level, OrganizationPermission, RepositoryPermission
from dashboard.models.audit import AuditEvent
from dashboard.models.credentials import AccessKey, ApiToken, LoginSecret
from dashboard.models.events import RegistryEvent
from dashboard.models.jobs import Job
from dashboard.models.organizations import Organization
from dashboard.models.people import TeamProfile
from dashboard.models.repositories import Category, Manifest, Repository, Tag
from dashboard.models.requests import AccessRequest
from dashboard.models.retention import RetentionLog, RetentionPolicy
from dashboard.models.sharing import Share
from dashboard.models.stats import RepositoryUsage
from dashboard.models.sync import RemoteRegistry, SyncJob, SyncRule
from dashboard.models.triggers import Trigger, TriggerDelivery

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
    "RemoteRegistry",
    "Repository",
    "RepositoryPermission",
    "RepositoryUsage",
    "RetentionLog",
    "RetentionPolicy",
    "Share",
    "SyncJob",
    "SyncRule",
    "Tag",
    "TeamProfile",
    "Trigger",
    "TriggerDelivery",
]
