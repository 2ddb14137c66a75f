"""Any JSON alert (Zabbix, Icinga, Grafana, ...) as intake, read with the integration's
JMESPath mapping (`WebhookMapping`): the body has no format of its own to check.
"""

from __future__ import annotations

import json
from typing import Any

import jmespath

from api.intake.accept import SEVERITY_LEVELS, Incoming
from api.intake.body import bad, check_storable, read_json
from api.schemas import WebhookMapping
from workflows.alerts import AlertAction


def _found(value: Any) -> str:
    """A mapped value as text: strings and numbers; nothing else counts as found."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""


def parse_webhook(raw: bytes, mapping_data: dict[str, Any]) -> list[Incoming]:
    """Events from any JSON body, read with the integration's JMESPath mapping; 400 naming
    the mapping field that found nothing."""
    body = read_json(raw)
    if not isinstance(body, dict | list):
        raise bad("body", "must be a JSON object or list")
    mapping = WebhookMapping.model_validate(mapping_data)
    items: Any = [body]
    if mapping.items is not None:
        items = jmespath.search(mapping.items, body)
        if not isinstance(items, list) or not items:
            raise bad("items", f"{mapping.items!r} found no list of alerts in the body")
    resolved = {v.lower() for v in mapping.resolved}
    acknowledged = {v.lower() for v in mapping.acknowledged}
    severities = {k.lower(): v for k, v in mapping.severities.items()}
    events = []
    for i, item in enumerate(items):
        where = f"items.{i}." if mapping.items is not None else ""
        check_storable(item, (f"items.{i}",) if mapping.items is not None else ())

        def read(name: str, item: Any = item) -> str:
            expression = getattr(mapping, name)
            return _found(jmespath.search(expression, item)) if expression else ""

        key = read("dedup_key")
        if not key:
            raise bad(where + "dedup_key", f"{mapping.dedup_key!r} found no key in the event")
        if len(key) > 255:
            raise bad(where + "dedup_key", "the key is longer than 255 characters")
        summary = read("summary")
        if not summary:
            raise bad(where + "summary", f"{mapping.summary!r} found no summary in the event")
        status = read("status").lower()
        if status in resolved:
            action = AlertAction.RESOLVE
        elif status in acknowledged:
            action = AlertAction.ACKNOWLEDGE
        else:
            action = AlertAction.TRIGGER
        severity_text = read("severity").lower()
        severity = severities.get(severity_text) or (
            severity_text if severity_text in SEVERITY_LEVELS else "warning"
        )
        details = json.dumps(item, indent=2, ensure_ascii=False)[:8000]
        events.append(
            Incoming(
                action=action,
                key=key,
                summary=summary[:1024],
                severity=severity,
                source=read("source")[:255] or "webhook",
                payload=item if isinstance(item, dict) else {"value": item},
                details=f"{summary}\n\n{details}",
            )
        )
    return events
