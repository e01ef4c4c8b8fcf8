"""`manage.py create_api_token --user NAME [--name N] [--json]`: a new API token."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.services.credentials import api_token_create
from dashboard.services.errors import ServiceError


class Command(BaseCommand):
    help = "Create an API token (X-Auth-Token) for a user and print it; it is not shown again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="the username that owns the token")
        parser.add_argument("--name", default="manage.py", help="a name to recognise it by")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model()._default_manager.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}.")
        try:
            _token, token_text = api_token_create(user=user, name=options["name"])
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"token": token_text}))
        else:
            self.stdout.write(token_text)
