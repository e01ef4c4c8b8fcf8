from django.conf import settings
from django.http import HttpRequest


def berth(request: HttpRequest) -> dict[str, object]:
    """Values every page may show: the registry host users push to, the region."""
    return {"REGISTRY_HOST": settings.REGISTRY_HOST, "REGION": settings.REGION}
