"""A person's API tokens, and the desk settings admins change (priority matrix, reopen
window)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from annotated_types import Le
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.deps import SessionDep
from api.errors import ApiError
from api.schemas import (
    MAX_INT,
    DeskSettings,
    TokenCreate,
)
from api.services import desk, directory
from web.common import WebAdmin, WebUser, parse, see_other
from web.errors import error_text
from web.formats import number
from web.i18n import _, gettext
from web.render import page
from workflows.choices import (
    LEVEL_CHOICES,
    LEVELS,
    PRIORITIES,
)

router = APIRouter(include_in_schema=False)

# ---------------------------------------------------------------- tokens and admin


@router.get("/settings/tokens")
async def tokens_page(request: Request, user: WebUser, session: SessionDep) -> Response:
    tokens = await directory.list_tokens(session, user)
    return page(request, "settings/tokens.html", {"user": user, "tokens": tokens})


@router.post("/settings/tokens")
async def create_token(request: Request, user: WebUser, session: SessionDep) -> Response:
    form = await request.form()
    try:
        body = parse(TokenCreate, {"name": str(form.get("name", ""))})
    except ApiError as exc:
        tokens = await directory.list_tokens(session, user)
        return page(
            request,
            "settings/tokens.html",
            {
                "user": user,
                "tokens": tokens,
                "error": error_text(exc),
                "error_field": exc.field,
            },
            exc.status,
        )
    created = await directory.create_token(session, user.id, body.name)
    tokens = await directory.list_tokens(session, user)
    return page(
        request, "settings/tokens.html", {"user": user, "tokens": tokens, "created": created}
    )


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_INT)], user: WebUser, session: SessionDep
) -> Response:
    await directory.revoke_token(session, user, token_id)
    return see_other("/settings/tokens")


def _desk_form(settings: DeskSettings) -> dict[str, Any]:
    """The settings as the admin form shows them: priorities per cell, the window in hours."""
    return {
        "matrix": [[str(p) for p in row] for row in settings.priority_matrix],
        "hours": f"{settings.reopen_window_seconds / 3600:g}",
    }


def _max_reopen_hours() -> float:
    limits = DeskSettings.model_fields["reopen_window_seconds"].metadata
    return next(float(str(m.le)) for m in limits if isinstance(m, Le)) / 3600


def _desk_settings(matrix: list[list[str]], hours_text: str) -> DeskSettings:
    """The admin form's input as settings, or an ApiError naming the form field to fix."""
    cells: list[list[int]] = []
    for i, row in zip(LEVELS, matrix, strict=True):
        cells.append([])
        for u, text in zip(LEVELS, row, strict=True):
            if not text.isdigit() or int(text) not in PRIORITIES:
                raise ApiError(
                    422,
                    _(
                        "priority for impact %(impact)s, urgency %(urgency)s must be one of "
                        "P1..P%(last)s",
                        impact=gettext(LEVEL_CHOICES[i].label),
                        urgency=gettext(LEVEL_CHOICES[u].label),
                        last=PRIORITIES[-1],
                    ),
                    field=f"m_{i}_{u}",
                    code="invalid_field",
                )
            cells[-1].append(int(text))
    try:
        hours = float(hours_text.replace(",", "."))
    except ValueError:
        hours = math.nan
    maximum = _max_reopen_hours()
    # float() also reads "nan" and "inf", which no window can be.
    if not (math.isfinite(hours) and 0 <= hours <= maximum):
        raise ApiError(
            422,
            _(
                "reopen_window_hours must be a number of hours from 0 to %(maximum)s",
                maximum=number(maximum),
            ),
            field="reopen_window_hours",
            code="invalid_field",
        )
    return DeskSettings.model_validate(
        {"priority_matrix": cells, "reopen_window_seconds": round(hours * 3600)}
    )


@router.get("/admin/settings")
async def admin_settings(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    current = await desk.get_settings(session)
    return page(request, "admin/settings.html", {"user": user, **_desk_form(current)})


@router.post("/admin/settings")
async def save_admin_settings(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    form = await request.form()
    matrix = [[str(form.get(f"m_{i}_{u}", "")).strip() for u in LEVELS] for i in LEVELS]
    hours = str(form.get("reopen_window_hours", "")).strip()
    try:
        saved = await desk.put_settings(session, _desk_settings(matrix, hours))
    except ApiError as exc:
        # Show the admin what they sent, not the stored values, so they can fix it.
        context = {
            "user": user,
            "matrix": matrix,
            "hours": hours,
            "error": error_text(exc),
            "error_field": exc.field,
        }
        return page(request, "admin/settings.html", context, exc.status)
    return page(request, "admin/settings.html", {"user": user, **_desk_form(saved), "saved": True})
