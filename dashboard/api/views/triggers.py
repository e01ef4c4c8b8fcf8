"""Triggers, SWR-SPEC.md §2.12: create, list, show, enable or disable, delete. Manage to change,
Read to read.

SWR's trigger updates a CCE/CCI workload; Berth's POSTs a webhook. The API takes SWR's fields
(kept, and sent in each delivery's payload as `workload`) and Berth's `url`, `secret`,
`headers`, `payload_format`; without `url`, an http(s) `application` is the webhook, so the
official SDK creates working triggers. `trigger_history` lists the finished deliveries.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView, api_repository
from dashboard.api.schema import errors, full_body
from dashboard.api.serializers.triggers import (
    TriggerCreateSerializer,
    TriggerSerializer,
    TriggerUpdateSerializer,
)
from dashboard.models import Level, Trigger, TriggerDelivery
from dashboard.selectors.triggers import trigger_histories
from dashboard.services.triggers import (
    Workload,
    trigger_create,
    trigger_delete,
    trigger_enable_parse,
    trigger_get,
    trigger_list,
    trigger_set_enabled,
)

TAGS = ["triggers"]
_WORKLOAD = (
    "action",
    "app_type",
    "application",
    "cluster_id",
    "cluster_name",
    "cluster_ns",
    "container",
    "trigger_mode",
)


def _detail(delivery: TriggerDelivery, host: str) -> str:
    """SWR's history `detail`: what the webhook answered, or why it could not be delivered."""
    event = "Test delivery" if delivery.event == "test" else f"Push of {delivery.tag}"
    if delivery.error:
        return f"{event}: {delivery.error}"
    return f"{event}: {host} answered HTTP {delivery.status_code}."


def _trigger(trigger: Trigger, deliveries: list[TriggerDelivery]) -> dict[str, Any]:
    workload = trigger.workload
    host = urlsplit(trigger.url).hostname or ""
    history = [
        {
            **workload,
            "condition": trigger.condition,
            "created_at": delivery.created_at,
            "creator_name": trigger.creator_name,
            "detail": _detail(delivery, host),
            "result": delivery.result,
            "tag": delivery.tag,
        }
        for delivery in deliveries
    ]
    return {
        **workload,
        "name": trigger.name,
        "trigger_type": trigger.trigger_type,
        "condition": trigger.condition,
        "enable": trigger.enable,
        "created_at": trigger.created_at,
        "creator_name": trigger.creator_name,
        "trigger_history": history,
        "url": trigger.url,
        "payload_format": trigger.payload_format,
        "header_names": trigger.header_names,
    }


class TriggerListView(SwrApiView):
    traces = {"post": "createTrigger"}
    resource_type = "trigger"

    @extend_schema(
        operation_id="CreateTrigger",
        tags=TAGS,
        request=TriggerCreateSerializer,
        responses={201: None, **errors(403, 404, 409)},
    )
    def post(self, request: Request, namespace: str, repository: str) -> Response:
        """Add a trigger: a new tag matching its condition POSTs the webhook."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        body = TriggerCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        trigger_create(
            repository=repo,
            actor=request.user,
            name=data["name"],
            trigger_type=data["trigger_type"],
            condition=data.get("condition", ""),
            url=data.get("url", ""),
            enabled=trigger_enable_parse(data["enable"]),
            secret=data.get("secret", ""),
            headers=data.get("headers") or {},
            payload_format=data["payload_format"],
            workload=Workload(**{key: data[key] for key in _WORKLOAD if key in data}),
        )
        return Response(status=201)

    @extend_schema(
        operation_id="ListTriggersDetails",
        tags=TAGS,
        responses={200: TriggerSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """The repository's triggers by name, each with its history."""
        repo, _ = api_repository(request.user, namespace, repository)
        triggers = list(trigger_list(repository=repo, user=request.user))
        histories = trigger_histories(triggers=triggers)
        rows = [_trigger(trigger, histories[trigger.pk]) for trigger in triggers]
        return Response(TriggerSerializer(rows, many=True).data)


class TriggerDetailView(SwrApiView):
    traces = {"patch": "updateTrigger", "delete": "deleteTrigger"}
    resource_type = "trigger"

    @extend_schema(
        operation_id="ShowTrigger",
        tags=TAGS,
        responses={200: TriggerSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, namespace: str, repository: str, trigger: str) -> Response:
        """One trigger with its history."""
        repo, _ = api_repository(request.user, namespace, repository)
        found = trigger_get(repository=repo, name=trigger, user=request.user)
        history = trigger_histories(triggers=[found])[found.pk]
        return Response(TriggerSerializer(_trigger(found, history)).data)

    @extend_schema(
        operation_id="UpdateTrigger",
        tags=TAGS,
        request=TriggerUpdateSerializer,
        responses={201: None, **errors(403, 404)},
    )
    @full_body
    def patch(self, request: Request, namespace: str, repository: str, trigger: str) -> Response:
        """Enable or disable the trigger (SWR changes nothing else)."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        found = trigger_get(repository=repo, name=trigger, user=request.user)
        body = TriggerUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        enabled = trigger_enable_parse(body.validated_data["enable"])
        trigger_set_enabled(trigger=found, enabled=enabled, actor=request.user)
        return Response(status=201)

    @extend_schema(
        operation_id="DeleteTrigger",
        tags=TAGS,
        responses={204: None, **errors(403, 404)},
    )
    def delete(self, request: Request, namespace: str, repository: str, trigger: str) -> Response:
        """Delete the trigger and its deliveries."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        found = trigger_get(repository=repo, name=trigger, user=request.user)
        trigger_delete(trigger=found, actor=request.user)
        return Response(status=204)
