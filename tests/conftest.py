"""Shared fixtures: a real redis-server, a real docker-registry whose token realm and
notifications point at the live Berth server, a real Celery worker, personas and Chromium."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import override_settings

from dashboard.models import Level, Organization, OrganizationPermission
from dashboard.registry.client import BerthTokenProvider, RealmTokenProvider, RegistryClient
from dashboard.registry.config import render_registry_config
from dashboard.registry.tokens import generate_signing_key
from registry_ui.celery import app as celery_app
from tests.servers import RedisServer, RegistryProcess, free_port, wait_for

# Playwright's sync API runs an event loop in the test thread; Django must allow ORM use there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

User = get_user_model()
PASSWORD = "correct-horse-battery"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def berth_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("berth")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(berth_tmp: Path) -> None:
    """SQLite tests use a file so the live server, the worker and the test share one database."""
    db = django_settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db.setdefault("TEST", {})["NAME"] = str(berth_tmp / "test.sqlite3")


@pytest.fixture(scope="session", autouse=True)
def _berth_session(berth_tmp: Path) -> Iterator[None]:
    """A real redis for cache and broker, and a token signing key of the session's own."""
    redis = RedisServer(berth_tmp / "redis")
    redis.start()
    key_file, cert_file = berth_tmp / "keys" / "token.key", berth_tmp / "keys" / "token.crt"
    generate_signing_key(key_file, cert_file)
    overrides = override_settings(
        REDIS_URL=redis.url,
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis.url,
            }
        },
        CELERY_BROKER_URL=redis.url,
        CELERY_TASK_ALWAYS_EAGER=False,
        TOKEN_KEY_FILE=key_file,
        TOKEN_CERT_FILE=cert_file,
        NOTIFY_SECRET="test-notify-secret",
        REGISTRY_DATA_DIR=berth_tmp / "registry",
        # PBKDF2 costs ~0.2 s per token request here; the tests check permissions, not hashing.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    overrides.enable()
    celery_app.conf.update(broker_url=redis.url, task_always_eager=False)
    try:
        yield
    finally:
        overrides.disable()
        redis.stop()


@pytest.fixture(scope="session")
def registry(live_server, berth_tmp: Path) -> Iterator[RegistryProcess]:  # type: ignore[no-untyped-def]
    """A real docker-registry trusting Berth's key; realm and notifications on the live server."""
    port = free_port()
    process = RegistryProcess(berth_tmp / "registry", port)
    overrides = override_settings(
        REGISTRY_URL=process.url,
        REGISTRY_HOST=process.host,
        REGISTRY_PORT=port,
        PUBLIC_URL=live_server.url,
    )
    overrides.enable()
    process.debug_port = free_port()
    process.write_config(
        render_registry_config(
            http_addr=process.host,
            debug_addr=f"127.0.0.1:{process.debug_port}",
            storage_dir=str(berth_tmp / "registry" / "storage"),
            public_url=live_server.url,
        )
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()
        overrides.disable()


def _quiet(registry: RegistryProcess) -> bool:
    """No notification in flight, none stored unprocessed, no indexer running."""
    from django.core.cache import cache

    from dashboard.models import RegistryEvent
    from dashboard.services.index import INDEX_LOCK_KEY

    return (
        registry.pending_notifications() in (0, None)
        and not RegistryEvent.objects.filter(processed_at__isnull=True).exists()
        and cache.get(INDEX_LOCK_KEY) is None
    )


@pytest.fixture
def settled(transactional_db: None, registry: RegistryProcess) -> Iterator[None]:
    """After the test, wait (briefly) until the registry's events are delivered and indexed.

    The database is flushed next; on PostgreSQL a TRUNCATE racing a worker or receiver
    transaction deadlocks. Never fails the test: after the timeout the flush just goes ahead.
    """
    yield
    with contextlib.suppress(AssertionError):
        wait_for(lambda: _quiet(registry), timeout=15, what="the registry's events to settle")


@pytest.fixture
def running_registry(registry: RegistryProcess, settled: None) -> RegistryProcess:
    """The session registry, restarted first if an earlier test left it stopped."""
    if not registry.running:
        registry.start()
    return registry


@pytest.fixture(scope="session")
def celery_worker_session(registry: RegistryProcess) -> Iterator[object]:
    """A real Celery worker consuming from the real redis broker, in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    with start_worker(
        celery_app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        shutdown_timeout=15,
        queues=["celery", "jobs"],
    ) as worker:
        yield worker


@pytest.fixture
def worker(celery_worker_session: object, transactional_db: None, settled: None) -> object:
    return celery_worker_session


@pytest.fixture
def berth_registry_client(running_registry: RegistryProcess) -> RegistryClient:
    """A client holding Berth's own admin tokens (what services use)."""
    return RegistryClient(running_registry.url, token_provider=BerthTokenProvider())


@pytest.fixture
def user_registry_client(
    running_registry: RegistryProcess, live_server
) -> Callable[[str, str], RegistryClient]:  # type: ignore[no-untyped-def]
    """A client that gets tokens from Berth's realm with a user's password, as docker does."""

    def make(username: str, password: str = PASSWORD) -> RegistryClient:
        provider = RealmTokenProvider(
            f"{live_server.url}/service/token",
            service=django_settings.TOKEN_SERVICE,
            username=username,
            password=password,
        )
        return RegistryClient(running_registry.url, token_provider=provider)

    return make


# -- personas ------------------------------------------------------------------------------


@pytest.fixture
def make_user(db: None) -> Callable[..., object]:
    def make(username: str, *, superuser: bool = False, password: str = PASSWORD) -> object:
        if superuser:
            return User.objects.create_superuser(username, f"{username}@example.com", password)
        return User.objects.create_user(username, f"{username}@example.com", password)

    return make


@pytest.fixture
def admin_user(make_user: Callable[..., object]) -> object:
    return make_user("root", superuser=True)


@pytest.fixture
def owner(make_user: Callable[..., object]) -> object:
    return make_user("owner")


@pytest.fixture
def outsider(make_user: Callable[..., object]) -> object:
    return make_user("outsider")


@pytest.fixture
def reader(make_user: Callable[..., object]) -> object:
    """A user the tests grant Read to."""
    return make_user("reader")


@pytest.fixture
def make_org(db: None) -> Callable[..., Organization]:
    """An organization created as the service does: the creator holds Manage on it."""

    def make(name: str, creator: Any = None) -> Organization:
        org = Organization.objects.create(name=name, creator=creator)
        if creator is not None:
            OrganizationPermission.objects.create(
                organization=org, user=creator, level=Level.MANAGE
            )
        return org

    return make


# -- browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium: Playwright's own browser downloads are not reachable here."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": CHROMIUM_FLAGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


__all__ = ["PASSWORD", "wait_for"]
