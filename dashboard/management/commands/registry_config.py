"""Render the registry's config.yml from the one template in `deploy/registry/`."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.registry.config import render_registry_config


def write_private_file(path: Path, text: str) -> bool:
    """Write `text` to `path` atomically with mode 0600 (the config holds the notification
    secret). Returns False, touching nothing, when the file already has that content."""
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def write_registry_config(path: Path, **overrides: str | None) -> bool:
    """Render the registry config into `path`. Returns True when the file changed."""
    return write_private_file(path, render_registry_config(**overrides))


class Command(BaseCommand):
    help = (
        "Render the registry's config.yml from deploy/registry/config.yml.tmpl and Berth's "
        "settings, to stdout or a file. Options override single values (compose, tests)."
    )
    # It reads settings and one template only; a half-written view must not stop compose.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="write to this file instead of stdout")
        parser.add_argument(
            "--http-addr",
            help="where the registry listens (default 127.0.0.1:$BERTH_REGISTRY_PORT)",
        )
        parser.add_argument(
            "--debug-addr", help="debug/health listener (default the registry port + 1)"
        )
        parser.add_argument("--storage-dir", help="filesystem storage root directory")
        parser.add_argument(
            "--rootcertbundle", help="token signing certificate as the registry sees it"
        )
        parser.add_argument(
            "--public-url",
            help="Berth's address as docker clients reach it (the token realm; also "
            "notifications unless --notify-url is given)",
        )
        parser.add_argument(
            "--notify-url",
            help="where the registry posts its events (default <public-url>/service/notifications)",
        )
        parser.add_argument(
            "--install-cert",
            action="store_true",
            help="also copy Berth's token certificate to the --rootcertbundle path "
            "(compose: the registry container sees only the config volume)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        overrides: dict[str, str | None] = {
            "http_addr": options["http_addr"],
            "debug_addr": options["debug_addr"],
            "storage_dir": options["storage_dir"],
            "rootcertbundle": options["rootcertbundle"],
            "public_url": options["public_url"],
            "notify_url": options["notify_url"],
        }
        output = options["output"]
        if options["install_cert"]:
            self._install_cert(options["rootcertbundle"])
        if not output or output == "-":
            self.stdout.write(render_registry_config(**overrides), ending="")
            return
        path = Path(output)
        changed = write_registry_config(path, **overrides)
        if options["verbosity"] >= 1:
            self.stderr.write(f"{'Wrote' if changed else 'Unchanged:'} {path}")

    def _install_cert(self, target: str | None) -> None:
        if not target:
            raise CommandError("--install-cert needs --rootcertbundle (where to put it)")
        source = Path(settings.TOKEN_CERT_FILE)
        if not source.is_file():
            raise CommandError(f"No token certificate at {source}; run berth_bootstrap first.")
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        os.chmod(target, 0o644)
