"""Seed the demo organization with real images pushed through the registry (idempotent)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dashboard.models import Level, Organization, OrganizationPermission
from dashboard.registry.client import BerthTokenProvider, RegistryClient
from dashboard.registry.errors import RegistryError
from dashboard.registry.images import build_image, build_index, push_image

ORG = "demo"


class Command(BaseCommand):
    help = (
        "Create organization 'demo' owned by the admin and push an OCI image, a Docker schema2 "
        "image, a multi-arch index and two tags sharing one digest into the real registry."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--owner", default="admin", help="user who owns the demo org")

    def handle(self, *args: Any, owner: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"No user {owner!r}; run `manage.py berth_bootstrap` first.")
        with transaction.atomic():
            org, created = Organization.objects.get_or_create(name=ORG, defaults={"creator": user})
            OrganizationPermission.objects.get_or_create(
                organization=org, user=user, defaults={"level": Level.MANAGE}
            )
        # Tokens carry the owner's name, so the registry's events say who pushed.
        client = RegistryClient(token_provider=BerthTokenProvider(subject=user.username))
        when = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
        hello = build_image(
            fmt="oci",
            labels={"org.opencontainers.image.title": "hello", "maintainer": "berth"},
            env=["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello"],
            created=when,
            layers=2,
        )
        legacy = build_image(fmt="docker", created=when - dt.timedelta(days=30))
        multi = build_index(
            [
                build_image(architecture="amd64", created=when),
                build_image(architecture="arm64", variant="v8", created=when),
            ]
        )
        pushes = [
            ("demo/hello", hello, "1.0"),
            ("demo/hello", hello, "latest"),
            ("demo/legacy-app", legacy, "v2"),
            ("demo/multiarch", multi, "latest"),
        ]
        try:
            for repository, image, tag in pushes:
                digest = push_image(client, repository, image, tag)
                self.stdout.write(f"pushed {repository}:{tag} {digest[:19]}")
        except RegistryError as exc:
            raise CommandError(f"Could not push the demo images: {exc}") from exc
        verb = "created" if created else "refreshed"
        self.stdout.write(self.style.SUCCESS(f"Demo organization '{ORG}' {verb}."))
