"""`manage.py create_access_key --user NAME [--json]`: a new AK/SK pair for automation."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.services.credentials import access_key_create, long_term_password, registry_username


class Command(BaseCommand):
    help = "Create an access key (AK/SK) for a user and print it; the SK is not shown again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="the username that owns the key")
        parser.add_argument("--description", default="", help="what the key is for")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model()._default_manager.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}.")
        key, secret_key = access_key_create(user=user, description=options["description"])
        if options["json"]:
            self.stdout.write(json.dumps({"access_key": key.access_key, "secret_key": secret_key}))
            return
        self.stdout.write(f"Access Key Id:     {key.access_key}")
        self.stdout.write(f"Secret Access Key: {secret_key}")
        self.stdout.write(f"docker username:   {registry_username(key.access_key)}")
        self.stdout.write(f"docker password:   {long_term_password(key.access_key, secret_key)}")
