"""Prometheus Alertmanager's webhook (`webhook_config`, payload version 4) as intake.

Each alert of the group is its own event, keyed by its fingerprint: `firing`
triggers, `resolved` resolves. Fields beyond the documented ones are kept.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from api.intake.accept import SEVERITY_MAX, SOURCE_MAX, Incoming
from api.intake.body import (
    Recorded,
    SourceModel,
    StringMap,
    Timestamp,
    check_storable,
    read_json,
    refused,
)
from workflows.alerts import AlertAction

FINGERPRINT_MAX = 255

Fingerprint = Annotated[str, StringConstraints(min_length=1, max_length=FINGERPRINT_MAX)]
Status = Literal["firing", "resolved"]


class AlertmanagerAlert(SourceModel):
    """One alert of the group."""

    status: Status
    labels: StringMap | None = Field(
        None, description="`severity` and the integration's rules are read from here"
    )
    annotations: StringMap | None = Field(
        None, description="`summary` (else `description`) is the incident's subject"
    )
    fingerprint: Fingerprint | None = Field(
        None,
        validate_default=True,
        description="The alert's key; when missing, made from the labels as Alertmanager does",
    )
    starts_at: Timestamp | None = Field(None, alias="startsAt")
    ends_at: Timestamp | None = Field(None, alias="endsAt")
    generator_url: Recorded[str] = Field(None, alias="generatorURL")

    @field_validator("fingerprint", mode="after")
    @classmethod
    def _key(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Absent from info.data when the labels were refused: that is the error to name.
        if value is None and "labels" in info.data and not info.data["labels"]:
            raise PydanticCustomError("missing", "is required when an alert has no labels")
        return value

    def key(self) -> str:
        """The fingerprint sent, or one of the label set, stable across webhooks."""
        if self.fingerprint is not None:
            return self.fingerprint
        canonical = json.dumps(sorted((self.labels or {}).items()))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class AlertmanagerWebhook(SourceModel):
    """One notification: a group of alerts sharing their routing labels.

    Only `version` and `alerts` are checked; the group's other fields are recorded
    with each event as sent (`groupKey` groups the incidents with `link_by: group`).
    """

    version: Literal["4"] | None = Field(
        None, description="Only version 4 of the payload is understood"
    )
    group_key: Recorded[str] = Field(None, alias="groupKey")
    truncated_alerts: Recorded[int] = Field(None, alias="truncatedAlerts")
    status: Recorded[Status] = None
    receiver: Recorded[str] = None
    group_labels: Recorded[dict[str, str]] = Field(None, alias="groupLabels")
    common_labels: Recorded[dict[str, str]] = Field(None, alias="commonLabels")
    common_annotations: Recorded[dict[str, str]] = Field(None, alias="commonAnnotations")
    external_url: Recorded[str] = Field(None, alias="externalURL")
    alerts: list[AlertmanagerAlert] = Field(min_length=1)


# What each event stores of its group, as sent.
_GROUP_FIELDS = ("receiver", "status", "groupKey", "groupLabels", "externalURL", "truncatedAlerts")


def parse_alertmanager(raw: bytes) -> list[Incoming]:
    """Each alert of an Alertmanager webhook as its own event; 400 naming the field at fault."""
    body = read_json(raw)
    try:
        webhook = AlertmanagerWebhook.model_validate(body)
    except ValidationError as exc:
        raise refused(exc) from None
    group = {k: body[k] for k in _GROUP_FIELDS if k in body}
    for name, value in group.items():
        check_storable(value, (name,))
    for index, sent in enumerate(body["alerts"]):
        check_storable(sent, ("alerts", index))
    events = []
    for alert, sent in zip(webhook.alerts, body["alerts"], strict=True):
        labels = alert.labels or {}
        annotations = alert.annotations or {}
        name = labels.get("alertname", "alert")
        summary = annotations.get("summary") or annotations.get("description") or name
        source = labels.get("instance") or labels.get("job") or "alertmanager"
        lines = [summary, ""]
        lines += [f"{k}: {v}" for k, v in sorted(labels.items())]
        if annotations.get("description") and annotations.get("description") != summary:
            lines += ["", annotations["description"]]
        if alert.generator_url is not None:
            lines += ["", f"Source: {alert.generator_url}"]
        events.append(
            Incoming(
                action=AlertAction.TRIGGER if alert.status == "firing" else AlertAction.RESOLVE,
                key=alert.key(),
                summary=summary,
                # Labels have no length limit; an alert row does (a longer value
                # would fail its write and stall the alert's workflow).
                severity=labels.get("severity", "")[:SEVERITY_MAX],
                source=source[:SOURCE_MAX],
                payload={"alert": sent, "group": group},
                details="\n".join(lines),
                labels=labels,
                group_key=webhook.group_key or "",
            )
        )
    return events
