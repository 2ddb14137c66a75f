"""PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event") as intake.

A trigger opens or repeats the alert of its `dedup_key` (one is made up when it
is missing); acknowledge and resolve need the key and carry nothing else the
intake reads. Fields beyond the documented ones are kept with the event.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from api.errors import ApiError
from api.intake.accept import Incoming
from api.intake.body import (
    SourceModel,
    Timestamp,
    check_storable,
    not_blank,
    read_json,
    refused,
)
from api.schemas import Severity
from workflows.alerts import AlertAction

ROUTING_KEY_MAX = 200
DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024
SOURCE_MAX = 255
FIELD_MAX = 1024
"""Longest `component`, `group` and `class`."""
DETAILS_MAX = 8000
"""How much of `custom_details` the incident's description shows."""

RoutingKey = Annotated[str, StringConstraints(min_length=1, max_length=ROUTING_KEY_MAX)]
DedupKey = Annotated[
    str, StringConstraints(min_length=1, max_length=DEDUP_KEY_MAX), AfterValidator(not_blank)
]
Summary = Annotated[
    str, StringConstraints(min_length=1, max_length=SUMMARY_MAX), AfterValidator(not_blank)
]
Source = Annotated[
    str, StringConstraints(min_length=1, max_length=SOURCE_MAX), AfterValidator(not_blank)
]
Detail = Annotated[str, StringConstraints(max_length=FIELD_MAX)]


class Payload(SourceModel):
    """What a trigger says about the alert."""

    summary: Summary = Field(description="The incident's subject")
    source: Source = Field(description="The affected system, preferably a host name or FQDN")
    severity: Severity
    timestamp: Timestamp | None = Field(None, description="When the tool detected the event")
    component: Detail | None = Field(None, description="e.g. `mysql` or `eth0`")
    group: Detail | None = Field(None, description="e.g. `app-stack`")
    class_: Detail | None = Field(None, alias="class", description="e.g. `ping failure`")
    custom_details: Any = Field(None, description="Any JSON; shown in the incident's description")


class Link(SourceModel):
    """A link shown in the incident's description."""

    href: str
    text: str | None = None


class Image(SourceModel):
    """An image the tool attached; kept with the event."""

    src: str
    href: str | None = None
    alt: str | None = None


# The intake never refused an item of another shape: it is kept with the event and
# not shown. left_to_right: a well-formed item is read as the model, not as Any.
LinkItem = Annotated[Link | Any, Field(union_mode="left_to_right")]
ImageItem = Annotated[Image | Any, Field(union_mode="left_to_right")]


class EventV2(SourceModel):
    """An alert event (`POST /enqueue` of the Events API v2). `payload`, `links` and
    `images` are read only for a trigger, as PagerDuty does."""

    # Declared in the order they are checked: a refusal names first the field that
    # comes first here, e.g. a missing routing key before a bad payload.
    routing_key: RoutingKey = Field(description="The integration's token")
    event_action: AlertAction
    dedup_key: DedupKey | None = Field(
        None,
        validate_default=True,
        description="Correlates triggers, acknowledges and resolves; required for the latter two",
    )
    payload: Payload | None = Field(None, validate_default=True, description="Trigger only")
    links: list[LinkItem] | None = Field(None, description="Trigger only")
    images: list[ImageItem] | None = Field(None, description="Trigger only")

    @field_validator("dedup_key", mode="after")
    @classmethod
    def _key_of_follow_ups(cls, value: str | None, info: ValidationInfo) -> str | None:
        action = info.data.get("event_action")
        if value is None and action in (AlertAction.ACKNOWLEDGE, AlertAction.RESOLVE):
            raise PydanticCustomError(
                "missing", "is required for {action}", {"action": action.value}
            )
        return value

    @field_validator("payload", "links", "images", mode="before")
    @classmethod
    def _trigger_only(cls, value: Any, info: ValidationInfo) -> Any:
        # An acknowledge or resolve may carry anything here: it is stored, never read.
        return value if info.data.get("event_action") == AlertAction.TRIGGER else None

    @field_validator("payload", mode="after")
    @classmethod
    def _payload_of_trigger(cls, value: Payload | None, info: ValidationInfo) -> Payload | None:
        if value is None and info.data.get("event_action") == AlertAction.TRIGGER:
            raise PydanticCustomError("missing", "is required for trigger and must be an object")
        return value


def _unauthenticated(exc: ValidationError) -> bool:
    """Whether the body lacks a routing key (missing, null or empty): a 401, not a 400."""
    return any(
        e["loc"] == ("routing_key",) and (e["type"] == "missing" or e["input"] in (None, ""))
        for e in exc.errors()
    )


def _text(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text[:limit]


def parse_event_v2(raw: bytes) -> tuple[str, Incoming]:
    """(routing key, event) from an Events API v2 body.

    400 naming the field at fault; 401 when the routing key is missing or empty
    (before any other field is looked at, as it says who is asking).
    """
    body = read_json(raw)
    try:
        event = EventV2.model_validate(body)
    except ValidationError as exc:
        if _unauthenticated(exc):
            raise ApiError(
                401, "routing_key is required", field="routing_key", code="unauthenticated"
            ) from None
        raise refused(exc) from None
    check_storable(body)  # the event is stored as sent
    if event.event_action != AlertAction.TRIGGER:
        assert event.dedup_key is not None  # the model requires it for a follow-up
        return event.routing_key, Incoming(
            action=event.event_action,
            key=event.dedup_key,
            summary="",
            severity="",
            source="",
            payload=body,
        )
    payload = event.payload
    assert payload is not None  # the model requires it for a trigger
    key = event.dedup_key or uuid.uuid4().hex
    lines = [
        payload.summary,
        "",
        f"Source: {payload.source}",
        f"Severity: {payload.severity}",
    ]
    for name, value in (
        ("Component", payload.component),
        ("Group", payload.group),
        ("Class", payload.class_),
    ):
        if value:
            lines.append(f"{name}: {value}")
    if payload.custom_details is not None:
        lines += ["", "Details:", _text(payload.custom_details, DETAILS_MAX)]
    for link in event.links or []:
        if isinstance(link, Link):
            lines.append(f"Link: {link.text or link.href} <{link.href}>")
    if event.dedup_key is None:
        body = {**body, "dedup_key": key}
    return event.routing_key, Incoming(
        action=event.event_action,
        key=key,
        summary=payload.summary.strip(),
        severity=payload.severity,
        source=payload.source.strip(),
        payload=body,
        details="\n".join(lines),
    )
