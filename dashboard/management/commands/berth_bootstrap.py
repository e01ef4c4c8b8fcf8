"""First start, and every start after it: keys, registry config, migrations, the admin user.

Idempotent. The admin's password comes from `BERTH_ADMIN_PASSWORD` when it is set (applied on
every run, so changing the variable changes the password); otherwise one is generated on
first creation and kept in `<BERTH_DATA_DIR>/keys/admin-password`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from dashboard.management.commands.registry_config import write_private_file, write_registry_config
from dashboard.registry.tokens import ensure_signing_key

ADMIN_USERNAME = "admin"


class PasswordSource(StrEnum):
    ENV = "env"  # BERTH_ADMIN_PASSWORD, applied on this run
    GENERATED = "generated"  # made on this run; printed once, kept in the password file
    FILE = "file"  # generated on an earlier run; still in the password file
    UNCHANGED = "unchanged"  # set some other way; Berth does not know it


@dataclass(frozen=True)
class AdminAccount:
    username: str
    source: PasswordSource
    password_file: Path
    created: bool
    password: str | None = None  # only when generated on this run


@dataclass(frozen=True)
class BootstrapResult:
    created_signing_key: bool
    registry_config: Path
    admin: AdminAccount


def admin_password_file() -> Path:
    return Path(settings.DATA_DIR) / "keys" / "admin-password"


def ensure_admin(*, env_password: str | None) -> AdminAccount:
    """Make sure the superuser `admin` exists, is active, and has the password Berth announces."""
    users = get_user_model()._default_manager
    user = users.filter(username=ADMIN_USERNAME).first()
    created = user is None
    if user is None:
        user = users.model(username=ADMIN_USERNAME)
    user.is_active = True
    user.is_staff = True  # type: ignore[attr-defined]
    user.is_superuser = True  # type: ignore[attr-defined]
    path = admin_password_file()
    generated: str | None = None
    if env_password:
        source = PasswordSource.ENV
        if created or not user.check_password(env_password):
            user.set_password(env_password)
        # A generated password the variable replaced must not be announced any more.
        path.unlink(missing_ok=True)
    elif created:
        # A database reset keeps the data directory's password file: reuse it.
        if path.is_file() and path.read_text().strip():
            source = PasswordSource.FILE
            user.set_password(path.read_text().strip())
        else:
            source = PasswordSource.GENERATED
            generated = secrets.token_urlsafe(15)
            write_private_file(path, generated + "\n")
            user.set_password(generated)
    else:
        source = PasswordSource.FILE if path.is_file() else PasswordSource.UNCHANGED
    user.save()
    return AdminAccount(
        username=ADMIN_USERNAME,
        source=source,
        password_file=path,
        created=created,
        password=generated,
    )


def describe_admin(admin: AdminAccount) -> str:
    """One line saying how to sign in as the admin."""
    if admin.source is PasswordSource.GENERATED:
        return (
            f'user "{admin.username}", password "{admin.password}" '
            f"(generated now, kept in {admin.password_file})"
        )
    if admin.source is PasswordSource.ENV:
        return f'user "{admin.username}", password from BERTH_ADMIN_PASSWORD'
    if admin.source is PasswordSource.FILE:
        return (
            f'user "{admin.username}", initial password in {admin.password_file} '
            "(unless changed since)"
        )
    return (
        f'user "{admin.username}", password unchanged '
        "(set BERTH_ADMIN_PASSWORD and run again to reset it)"
    )


def bootstrap(*, say: Callable[[str], None], verbosity: int = 1) -> BootstrapResult:
    """Run every first-start step; each one is a no-op when already done."""
    created_key = ensure_signing_key()
    if created_key:
        say(f"Generated the token signing key and certificate: {settings.TOKEN_CERT_FILE}")
    config_file = Path(settings.REGISTRY_CONFIG_FILE)
    if write_registry_config(config_file):
        say(f"Wrote the registry configuration: {config_file}")
    call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
    env_password = os.environ.get("BERTH_ADMIN_PASSWORD", "").strip() or None
    admin = ensure_admin(env_password=env_password)
    say(f"Admin account {'created' if admin.created else 'ready'}: {describe_admin(admin)}")
    return BootstrapResult(
        created_signing_key=created_key, registry_config=config_file, admin=admin
    )


class Command(BaseCommand):
    help = (
        "Idempotent first start: token signing key, registry config, migrations and the "
        "'admin' superuser (password from BERTH_ADMIN_PASSWORD, or generated once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        pass

    def handle(self, *args: Any, **options: Any) -> None:
        bootstrap(say=self.stdout.write, verbosity=options["verbosity"])
