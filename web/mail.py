"""Admin pages of the email channel: mailboxes to poll and the quarantine.

They call the same service functions as `/api/v1/mailboxes` and
`/api/v1/mail/quarantine`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep, SettingsDep, TemporalDep, TicketsDep
from api.errors import ApiError
from api.mail.process import MailProcessor
from api.mail.schemas import MailboxCreate
from api.schemas import MAX_BIGINT, MAX_INT
from api.services import mail as service
from web.common import WebAdmin
from web.errors import error_text, form_error
from web.i18n import _, gettext
from web.render import page

router = APIRouter(include_in_schema=False)

_FIELDS = (
    "name",
    "address",
    "protocol",
    "host",
    "port",
    "username",
    "password_env",
    "password",
    "folder",
    "group_id",
    "record_type",
    "poll_seconds",
    "language",
    "ca_certificate",
)


async def _page(
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
        "admin/mail.html",
        {
            "user": user,
            "mailboxes": await service.list_mailboxes(session),
            "quarantine": await service.list_quarantine(session, 100),
            "form": form
            or {"protocol": "imap", "port": "993", "folder": "INBOX", "tls": "on", "active": "on"},
            **context,
        },
        status_code,
    )


@router.get("/admin/mail")
async def mail_admin(request: Request, user: WebAdmin, session: SessionDep) -> Response:
    return await _page(request, user, session, done=request.query_params.get("done"))


def _mailbox(form: dict[str, str]) -> MailboxCreate:
    data: dict[str, Any] = {k: v for k, v in form.items() if k in _FIELDS and v != ""}
    data["tls"] = "true" if form.get("tls") else "false"
    data["starttls"] = "true" if form.get("starttls") else "false"
    # Checking certificates is the default; the form can only switch it off on purpose.
    data["tls_verify"] = "false" if form.get("skip_tls_verify") else "true"
    data["active"] = "true" if form.get("active") else "false"
    try:
        return MailboxCreate.model_validate_strings(data)
    except ValidationError as exc:
        raise form_error(exc) from None


@router.post("/admin/mail/mailboxes")
async def add_mailbox(
    request: Request,
    user: WebAdmin,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Response:
    form = {k: str(v).strip() for k, v in (await request.form()).items()}
    try:
        created = await service.create_mailbox(session, client, _mailbox(form), settings.secret_key)
    except ApiError as exc:
        form.pop("password", None)  # never sent back into the page
        return await _page(
            request,
            user,
            session,
            form=form,
            status_code=exc.status,
            error=error_text(exc),
            error_field=exc.field,
        )
    return RedirectResponse(f"/admin/mail?done=added+{created.name}", status_code=303)


def _form_of(mailbox: Any) -> dict[str, str]:
    """A stored mailbox as the form shows it (the password never)."""
    public = service.mailbox_public(mailbox)
    form = {k: "" if v is None else str(v) for k, v in public.model_dump(mode="json").items()}
    form["tls"] = "on" if public.tls else ""
    form["starttls"] = "on" if public.starttls else ""
    form["skip_tls_verify"] = "" if public.tls_verify else "on"
    form["active"] = "on" if public.active else ""
    form["password_stored"] = "on" if public.password_stored else ""
    return form


@router.get("/admin/mail/mailboxes/{mailbox_id}")
async def edit_mailbox(
    mailbox_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    request: Request,
    user: WebAdmin,
    session: SessionDep,
) -> Response:
    mailbox = await service.get_mailbox(session, mailbox_id)
    context = {"user": user, "mailbox_id": mailbox_id, "form": _form_of(mailbox)}
    return page(request, "admin/mailbox.html", context)


@router.post("/admin/mail/mailboxes/{mailbox_id}")
async def save_mailbox(
    mailbox_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    request: Request,
    user: WebAdmin,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Response:
    form = {k: str(v).strip() for k, v in (await request.form()).items()}
    try:
        saved = await service.replace_mailbox(
            session, client, mailbox_id, _mailbox(form), settings.secret_key
        )
    except ApiError as exc:
        form.pop("password", None)  # never sent back into the page
        context = {
            "user": user,
            "mailbox_id": mailbox_id,
            "form": form,
            "error": error_text(exc),
            "error_field": exc.field,
        }
        return page(request, "admin/mailbox.html", context, exc.status)
    return RedirectResponse(f"/admin/mail?done=saved+{saved.name}", status_code=303)


@router.post("/admin/mail/mailboxes/{mailbox_id}/delete")
async def remove_mailbox(
    mailbox_id: Annotated[int, Path(ge=1, le=MAX_INT)], user: WebAdmin, session: SessionDep
) -> Response:
    await service.delete_mailbox(session, mailbox_id)
    return RedirectResponse("/admin/mail?done=removed", status_code=303)


@router.post("/admin/mail/quarantine/{message_id}/reprocess")
async def reprocess(
    message_id: Annotated[int, Path(ge=1, le=MAX_BIGINT)],
    request: Request,
    user: WebAdmin,
    session: SessionDep,
    tickets: TicketsDep,
    settings: SettingsDep,
) -> Response:
    processor = MailProcessor(request.app.state.sessions, tickets, settings)
    result = await service.reprocess(session, processor, message_id)
    if result.status == "quarantined":
        return await _page(
            request,
            user,
            session,
            status_code=409,
            error=_(
                "message %(id)s is still quarantined: %(reason)s",
                id=message_id,
                reason=gettext(result.reason) if result.reason else "",
            ),
        )
    what = f"ticket+{result.ticket_number}" if result.ticket_number else result.status
    return RedirectResponse(f"/admin/mail?done=reprocessed+{what}", status_code=303)
