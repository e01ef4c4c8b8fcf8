from django.conf import settings
from django.http import HttpRequest

from dashboard.views.common import registry_is_plain_http


def berth(request: HttpRequest) -> dict[str, object]:
    """Values every page may show: the registry host users push to, whether it is plain HTTP
    (clients then need it under `insecure-registries`), the region."""
    return {
        "REGISTRY_HOST": settings.REGISTRY_HOST,
        "REGISTRY_INSECURE": registry_is_plain_http(),
        "REGION": settings.REGION,
    }
