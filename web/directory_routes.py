"""Admin pages for organisations (with their mail domains) and people's mail language,
and a person's own language setting.

They call the same service functions as `/api/v1/organisations` and `/api/v1/users`.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.mail.languages import person_languages
from api.schemas import MAX_INT, OrganisationCreate, UserUpdate
from api.services import directory
from web import i18n
from web.common import WebAdmin, WebUser, see_other, validated
from web.errors import error_text
from web.render import page
from workflows.choices import DATE_CALENDAR_CHOICES, DIGITS_CHOICES

router = APIRouter(include_in_schema=False)

RowId = Annotated[int, Path(ge=1, le=MAX_INT)]


def _organisation(form: dict[str, str]) -> OrganisationCreate:
    """The form's fields as the API's body; domains one per line, or separated by commas."""
    domains = [d for d in re.split(r"[\s,;]+", form.get("domains", "")) if d]
    return validated(
        OrganisationCreate,
        {
            "name": form.get("name", ""),
            "domains": domains,
            "shared_tickets": bool(form.get("shared_tickets")),
        },
    )


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v).strip() for k, v in (await request.form()).items()}


async def _organisations_page(
    request: Request,
    user: Any,
    session: SessionDep,
    *,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    return page(
        request,
        "admin/organisations.html",
        {
            "user": user,
            "organisations": await directory.list_organisations(session),
            "form": form or {},
            **context,
        },
        status_code,
    )


@router.get("/admin/organisations")
async def organisations(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    return await _organisations_page(request, user, session, done=request.query_params.get("done"))


@router.post("/admin/organisations")
async def add_organisation(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    form = await _form(request)
    try:
        created = await directory.create_organisation(session, _organisation(form))
    except ApiError as exc:
        return await _organisations_page(
            request,
            user,
            session,
            form=form,
            status_code=exc.status,
            error=error_text(exc),
            error_field=exc.field,
        )
    return see_other(f"/admin/organisations?done=added+{created.name}")


@router.get("/admin/organisations/{organisation_id}")
async def edit_organisation(
    organisation_id: RowId, request: Request, user: WebAdmin, session: SessionDep
) -> Response:
    org = await directory.get_organisation(session, organisation_id)
    form = {
        "name": org.name,
        "domains": "\n".join(org.domains),
        "shared_tickets": "on" if org.shared_tickets else "",
    }
    context = {"user": user, "organisation_id": organisation_id, "form": form}
    return page(request, "admin/organisation.html", context)


@router.post("/admin/organisations/{organisation_id}")
async def save_organisation(
    organisation_id: RowId, request: Request, user: WebAdmin, session: SessionDep
) -> Response:
    form = await _form(request)
    try:
        saved = await directory.replace_organisation(session, organisation_id, _organisation(form))
    except ApiError as exc:
        if exc.status == 404:
            raise
        context = {
            "user": user,
            "organisation_id": organisation_id,
            "form": form,
            "error": error_text(exc),
            "error_field": exc.field,
        }
        return page(request, "admin/organisation.html", context, exc.status)
    return see_other(f"/admin/organisations?done=saved+{saved.name}")


def _language(form: dict[str, str]) -> UserUpdate:
    # The empty choice is "the desk's default", which the API spells null.
    return validated(UserUpdate, {"language": form.get("language") or None})


_READER_FIELDS = ("language", "timezone", "date_calendar", "digits")


@cache
def _zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _reader_settings(form: dict[str, str]) -> UserUpdate:
    """A person's own language and region; a blank choice returns it to the default."""
    return validated(
        UserUpdate, {name: (form.get(name) or "").strip() or None for name in _READER_FIELDS}
    )


async def _language_choices(session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """The languages a person may pick (those with templates) and the desk's default."""
    return {
        "languages": await person_languages(
            session, settings.mail_templates_dir, settings.mail_language
        ),
        "default_language": settings.mail_language,
    }


async def _people_page(
    request: Request,
    user: Any,
    session: SessionDep,
    settings: SettingsDep,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    return page(
        request,
        "admin/people.html",
        {
            "user": user,
            "people": await directory.list_users(session, limit=500),
            **await _language_choices(session, settings),
            **context,
        },
        status_code,
    )


@router.get("/admin/people")
async def people(
    request: Request, user: WebAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _people_page(
        request, user, session, settings, done=request.query_params.get("done")
    )


@router.post("/admin/people/{user_id}/language")
async def set_language(
    user_id: RowId, request: Request, user: WebAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    try:
        changed = await directory.update_user(
            session,
            user_id,
            _language(await _form(request)),
            templates_dir=settings.mail_templates_dir,
            default_language=settings.mail_language,
        )
    except ApiError as exc:
        if exc.status == 404:
            raise
        return await _people_page(
            request,
            user,
            session,
            settings,
            status_code=exc.status,
            error=error_text(exc),
            error_field=exc.field,
        )
    return see_other(f"/admin/people?done=saved+{changed.email}")


async def _own_page(
    request: Request,
    user: Any,
    session: SessionDep,
    settings: SettingsDep,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    return page(
        request,
        "settings/language.html",
        {
            "user": user,
            "me": await directory.get_user(session, user.id),
            "zones": _zone_names(),
            "date_calendars": DATE_CALENDAR_CHOICES,
            "digit_choices": DIGITS_CHOICES,
            **await _language_choices(session, settings),
            **context,
        },
        status_code,
    )


@router.get("/settings/language")
async def own_language(
    request: Request, user: WebUser, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _own_page(request, user, session, settings)


@router.post("/settings/language")
async def save_own_language(
    request: Request, user: WebUser, session: SessionDep, settings: SettingsDep
) -> Response:
    try:
        saved = await directory.update_user(
            session,
            user.id,
            _reader_settings(await _form(request)),
            templates_dir=settings.mail_templates_dir,
            default_language=settings.mail_language,
        )
    except ApiError as exc:
        return await _own_page(
            request,
            user,
            session,
            settings,
            status_code=exc.status,
            error=error_text(exc),
            error_field=exc.field,
        )
    # The page answering this form is the first to be read with the new settings.
    headers = request.headers
    i18n.read_as(
        i18n.for_person(
            i18n.from_headers(headers.get("cookie"), headers.get("accept-language")),
            saved.language,
            saved.timezone,
            saved.date_calendar,
            saved.digits,
        )
    )
    return await _own_page(request, user, session, settings, saved=True)
