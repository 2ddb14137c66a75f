"""SLA configuration: business calendars, SLA policies, services, bulk jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from api.deps import AdminUser, SessionDep, StaffUser, TemporalDep
from api.errors import ApiError, refused
from api.schemas import (
    MAX_INT,
    BulkJobPublic,
    CalendarBody,
    CalendarPreview,
    CalendarPublic,
    PolicyOrder,
    ServiceCreate,
    ServicePublic,
    SlaImportReport,
    SlaPolicyBody,
    SlaPolicyPublic,
)
from api.services import sla as service
from api.services import sla_io
from workflows.choices import N_

router = APIRouter(tags=["sla"])

Id = Annotated[int, Path(ge=1, le=MAX_INT)]


@router.get("/calendars")
async def list_calendars(user: StaffUser, session: SessionDep) -> list[CalendarPublic]:
    """Business calendars."""
    return await service.list_calendars(session)


@router.post("/calendars", status_code=status.HTTP_201_CREATED)
async def create_calendar(
    body: CalendarBody, user: AdminUser, session: SessionDep
) -> CalendarPublic:
    """Create a business calendar (admin only)."""
    return await service.save_calendar(session, body)


@router.get("/calendars/{calendar_id}")
async def get_calendar(calendar_id: Id, user: StaffUser, session: SessionDep) -> CalendarPublic:
    """One calendar with its special days."""
    return await service.get_calendar(session, calendar_id)


@router.put("/calendars/{calendar_id}")
async def update_calendar(
    calendar_id: Id, body: CalendarBody, user: AdminUser, session: SessionDep
) -> CalendarPublic:
    """Replace a calendar; tickets use it from their next policy application (admin only)."""
    return await service.save_calendar(session, body, calendar_id)


@router.delete("/calendars/{calendar_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_calendar(calendar_id: Id, user: AdminUser, session: SessionDep) -> Response:
    """Delete a calendar no policy uses (admin only)."""
    await service.delete_calendar(session, calendar_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/calendars/{calendar_id}/preview")
async def preview_calendar(
    calendar_id: Id,
    user: StaffUser,
    session: SessionDep,
    target_seconds: Annotated[int, Query(ge=1, le=365 * 24 * 3600)] = 8 * 3600,
    start: Annotated[
        str | None,
        Query(
            description="ISO 8601 instant with offset; default now",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
) -> CalendarPreview:
    """When a ticket opened at `start` with this business-time target is due."""
    return await service.preview_calendar(
        session, calendar_id, timedelta(seconds=target_seconds), _instant("start", start)
    )


def _instant(field: str, value: str | None) -> datetime | None:
    """An ISO 8601 instant; pydantic's lax mode would also take `0.5` as a Unix time."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise refused(
            422,
            N_("%(name)s must be an ISO 8601 instant such as 2026-03-02T09:00:00+01:00"),
            field=field,
            code="invalid_field",
            name=field,
        ) from None


@router.get("/sla-policies")
async def list_policies(user: StaffUser, session: SessionDep) -> list[SlaPolicyPublic]:
    """SLA policies in the order they are tried."""
    return await service.list_policies(session)


@router.post("/sla-policies", status_code=status.HTTP_201_CREATED)
async def create_policy(
    body: SlaPolicyBody, user: AdminUser, session: SessionDep
) -> SlaPolicyPublic:
    """Create an SLA policy, tried after the existing ones (admin only)."""
    return await service.save_policy(session, body)


@router.put("/sla-policies/order")
async def reorder_policies(
    body: PolicyOrder, user: AdminUser, session: SessionDep
) -> list[SlaPolicyPublic]:
    """Set the order in which policies are tried (admin only)."""
    return await service.reorder_policies(session, body.ids)


@router.get("/sla-policies/{policy_id}")
async def get_policy(policy_id: Id, user: StaffUser, session: SessionDep) -> SlaPolicyPublic:
    """One SLA policy with the number of open tickets following it."""
    return await service.get_policy(session, policy_id)


@router.put("/sla-policies/{policy_id}")
async def update_policy(
    policy_id: Id, body: SlaPolicyBody, user: AdminUser, session: SessionDep
) -> SlaPolicyPublic:
    """Replace a policy: a new version for new tickets; apply it to reach open ones."""
    return await service.save_policy(session, body, policy_id)


@router.delete("/sla-policies/{policy_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_policy(policy_id: Id, user: AdminUser, session: SessionDep) -> Response:
    """Delete a policy; open tickets keep the terms they have (admin only)."""
    await service.delete_policy(session, policy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/sla-policies/{policy_id}/apply", status_code=status.HTTP_202_ACCEPTED)
async def apply_policy(
    policy_id: Id, user: AdminUser, session: SessionDep, client: TemporalDep
) -> BulkJobPublic:
    """Apply the current version to open tickets on an older one; poll the returned job."""
    return await service.apply_policy(session, client, user, policy_id)


@router.get("/bulk-jobs/{job_id}")
async def get_bulk_job(
    job_id: Annotated[str, Path(max_length=64, pattern=r"^bulk-[0-9a-f]{32}$")],
    user: StaffUser,
    session: SessionDep,
) -> BulkJobPublic:
    """Progress of a bulk job, and every ticket that refused with its reason."""
    return await service.get_job(session, job_id)


@router.get("/services")
async def list_services(user: StaffUser, session: SessionDep) -> list[ServicePublic]:
    """The service catalogue."""
    return await service.list_services(session)


@router.post("/services", status_code=status.HTTP_201_CREATED)
async def create_service(
    body: ServiceCreate, user: AdminUser, session: SessionDep
) -> ServicePublic:
    """Add a service (admin only)."""
    return await service.save_service(session, body)


@router.put("/services/{service_id}")
async def update_service(
    service_id: Id, body: ServiceCreate, user: AdminUser, session: SessionDep
) -> ServicePublic:
    """Rename, describe or retire a service (admin only)."""
    return await service.save_service(session, body, service_id)


YAML_TYPE = "application/yaml"


@router.get(
    "/sla/export",
    response_class=Response,
    responses={
        200: {
            "description": "YAML: version, priority_matrix, services, calendars, policies",
            "content": {YAML_TYPE: {"schema": {"type": "object"}}},
        }
    },
)
async def export_sla(user: AdminUser, session: SessionDep) -> Response:
    """The whole SLA configuration as YAML (admin only)."""
    return Response(await sla_io.export_yaml(session), media_type=YAML_TYPE)


@router.post(
    "/sla/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                YAML_TYPE: {
                    "schema": {
                        "type": "object",
                        "required": ["version"],
                        "properties": {"version": {"type": "integer", "enum": [1]}},
                    }
                }
            },
        }
    },
)
async def import_sla(
    request: Request, user: AdminUser, session: SessionDep, dry_run: bool = False
) -> SlaImportReport:
    """Make the desk match a YAML file; all or nothing; `dry_run` only reports (admin only)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refused(400, N_("the file must be UTF-8 text"), code="bad_request") from exc
    try:
        changes = await sla_io.import_text(session, text, dry_run=dry_run)
    except sla_io.ImportRejected as exc:
        raise ApiError(
            422,
            "; ".join(exc.lines()[:20]),
            field=exc.problems[0][0],
            code="invalid_file",
            errors=[{"field": where, "message": message} for where, message in exc.problems],
        ) from exc
    return SlaImportReport(dry_run=dry_run, changes=changes)
