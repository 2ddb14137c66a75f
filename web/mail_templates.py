"""Admin pages of the mail templates: which parts are edited, and an editor per part with
the built-in text beside it, a preview, save and reset.

They call the same service functions as `/api/v1/mail/templates`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, refused
from api.mail.schemas import TemplateKind, TemplatePart
from api.services import mail_templates as service
from models.mail_templates import TEMPLATE_KINDS, TEMPLATE_MAX_CHARS, TEMPLATE_PARTS
from web.common import WebAdmin
from web.errors import error_text
from web.formats import number
from web.i18n import N_, _
from web.render import page

router = APIRouter(include_in_schema=False)

_LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
"""As the API's `Language` type."""
Lang = Annotated[str, Path(pattern=_LANGUAGE)]


async def _list(
    request: Request,
    user: Any,
    session: SessionDep,
    settings: SettingsDep,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    sets = await service.list_templates(
        session, settings.mail_templates_dir, settings.mail_language
    )
    shown = {"user": user, "sets": sets, "kinds": TEMPLATE_KINDS, "parts": TEMPLATE_PARTS}
    return page(
        request, "admin/mail_templates.html", {**shown, **_done(request), **context}, status_code
    )


def _done(request: Request) -> dict[str, Any]:
    return {"done": request.query_params.get("done")}


@router.get("/admin/mail-templates")
async def mail_templates(
    request: Request, user: WebAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _list(request, user, session, settings)


@router.get("/admin/mail-templates/open")
async def open_template(
    request: Request, user: WebAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    """The "edit another language" form: to that language's editor, or the list with the error."""
    query = request.query_params
    language = query.get("language", "").strip()
    kind, part = query.get("kind", ""), query.get("part", "")
    if not re.fullmatch(_LANGUAGE, language):
        return await _list_with_error(
            request, user, session, settings, _("language must look like de or pt-BR"), "language"
        )
    if kind not in TEMPLATE_KINDS or part not in TEMPLATE_PARTS:
        return await _list_with_error(
            request, user, session, settings, _("choose a kind and a part"), "kind"
        )
    return RedirectResponse(f"/admin/mail-templates/{language}/{kind}/{part}", status_code=303)


async def _list_with_error(
    request: Request, user: Any, session: SessionDep, settings: SettingsDep, error: str, field: str
) -> Response:
    return await _list(
        request, user, session, settings, status_code=422, error=error, error_field=field
    )


async def _editor(
    request: Request,
    user: Any,
    session: SessionDep,
    settings: SettingsDep,
    language: str,
    kind: str,
    part: str,
    *,
    status_code: int = 200,
    text: str | None = None,
    **context: Any,
) -> Response:
    current = await service.get_template(
        session, language, kind, part, settings.mail_templates_dir, settings.mail_language
    )
    return page(
        request,
        "admin/mail_template.html",
        {
            "user": user,
            "t": current,
            "text": current.body if text is None else text,
            "max_chars": TEMPLATE_MAX_CHARS,
            **_done(request),
            **context,
        },
        status_code,
    )


_Part = "/admin/mail-templates/{language}/{kind}/{part}"


@router.get(_Part)
async def edit_template(
    language: Lang,
    kind: TemplateKind,
    part: TemplatePart,
    request: Request,
    user: WebAdmin,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    return await _editor(request, user, session, settings, language, kind, part)


async def _text(request: Request) -> str:
    # Browsers send text areas with CRLF line ends; templates are stored with LF.
    return str((await request.form()).get("body", "")).replace("\r\n", "\n")


def _checked(text: str) -> str:
    """The form's text with the API body's limits (the API checks them in its schema)."""
    if not text.strip():
        raise refused(
            422, N_("%(name)s: the text is empty"), field="body", code="invalid_field", name="body"
        )
    if len(text) > TEMPLATE_MAX_CHARS:
        raise ApiError(
            422,
            _(
                "body: at most %(most)s characters (%(given)s given)",
                most=number(TEMPLATE_MAX_CHARS),
                given=number(len(text)),
            ),
            field="body",
            code="invalid_field",
        )
    if "\x00" in text:
        raise refused(
            422,
            N_("%(name)s: must not contain NUL characters"),
            field="body",
            code="invalid_field",
            name="body",
        )
    return text


@router.post(_Part)
async def save_template(
    language: Lang,
    kind: TemplateKind,
    part: TemplatePart,
    request: Request,
    user: WebAdmin,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    text = await _text(request)
    try:
        await service.save_template(
            session,
            user,
            language,
            kind,
            part,
            _checked(text),
            templates_dir=settings.mail_templates_dir,
            default=settings.mail_language,
            desk_name=settings.mail_from_name,
        )
    except ApiError as exc:
        return await _editor(
            request, user, session, settings, language, kind, part,
            status_code=exc.status, text=text, error=error_text(exc), error_field=exc.field,
        )  # fmt: skip
    return RedirectResponse(
        f"/admin/mail-templates/{language}/{kind}/{part}?done=saved", status_code=303
    )


@router.post(_Part + "/preview")
async def preview_template(
    language: Lang,
    kind: TemplateKind,
    part: TemplatePart,
    request: Request,
    user: WebAdmin,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    text = await _text(request)
    try:
        shown = service.preview(language, kind, part, _checked(text), settings.mail_from_name)
    except ApiError as exc:
        return await _editor(
            request, user, session, settings, language, kind, part,
            status_code=exc.status, text=text, error=error_text(exc), error_field=exc.field,
        )  # fmt: skip
    return await _editor(
        request, user, session, settings, language, kind, part, text=text, preview=shown.rendered
    )


@router.post(_Part + "/reset")
async def reset_template(
    language: Lang, kind: TemplateKind, part: TemplatePart, user: WebAdmin, session: SessionDep
) -> Response:
    await service.reset_template(session, language, kind, part)
    return RedirectResponse(
        f"/admin/mail-templates/{language}/{kind}/{part}?done=reset+to+the+default",
        status_code=303,
    )
