"""The AsyncAPI document of casewatch's topics, pointing at the JSON Schemas of their values.

Served by the ingest API at ``/asyncapi.yaml``; the schemas at ``/schemas/<name>``
(``/schemas/event.v1.json``), the same files as ``schemas/jsonschema/`` in the repository.
"""

from __future__ import annotations

from typing import Any

import yaml

from services.runtime.settings import Settings

SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"


def _message(name: str, title: str, key: str, schema: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": name,
        "title": title,
        "contentType": "application/json",
        "bindings": {"kafka": {"key": {"type": "string", "description": key}}},
    }
    if schema:
        message["payload"] = {"schemaFormat": SCHEMA_FORMAT, "schema": {"$ref": schema}}
    return message


def document(settings: Settings, base_url: str = "") -> dict[str, Any]:
    topics = {
        "events": (settings.topic_events, "An event from a case system", "person key"),
        "flags": (settings.topic_flags, "A flag raised or resolved", "flag id"),
        "journeys": (settings.topic_journeys, "A journey snapshot", "person key"),
        "dlq": (settings.topic_dlq, "An event the worker could not fold", "original key"),
    }
    schemas = {
        "events": "event.v1.json",
        "flags": "flag.v1.json",
        "journeys": "journey.v1.json",
        "dlq": None,
    }
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name, (address, title, key) in topics.items():
        schema = schemas[name]
        ref = f"{base_url}/schemas/{schema}" if schema else None
        messages[name] = _message(name, title, key, ref)
        channels[name] = {
            "address": address,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "casewatch topics",
            "version": "1.0.0",
            "description": "Kafka topics between casewatch's services. Values are JSON; "
            "event ids are deterministic, delivery is at least once.",
        },
        "servers": {"kafka": {"host": settings.kafka_bootstrap.split(",")[0], "protocol": "kafka"}},
        "channels": channels,
        "operations": {
            "publishEvents": {"action": "send", "channel": {"$ref": "#/channels/events"}},
            "receiveFlags": {"action": "receive", "channel": {"$ref": "#/channels/flags"}},
            "receiveJourneys": {"action": "receive", "channel": {"$ref": "#/channels/journeys"}},
            "receiveDeadLetters": {"action": "receive", "channel": {"$ref": "#/channels/dlq"}},
        },
        "components": {"messages": messages},
    }


def render(settings: Settings, base_url: str = "") -> str:
    return yaml.safe_dump(document(settings, base_url), sort_keys=False)
