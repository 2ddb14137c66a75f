"""Logging in and out, and the start page each person lands on."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    end_session,
    start_session,
)
from api.deps import SessionDep, SettingsDep
from api.security import new_secret, same
from api.services import directory
from web import i18n
from web.common import WebUser, safe_next, see_other
from web.i18n import _
from web.render import page

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "tempodesk_login_csrf"

# ---------------------------------------------------------------- language


@router.get("/language/{code}")
async def choose_language(code: str, next: str | None = None) -> Response:
    """The switcher for people not logged in: remembers the language in a cookie (a person
    who logs in reads in their own setting, /settings/language)."""
    response = see_other(safe_next(next))
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, code, max_age=365 * 86400, samesite="lax", httponly=True
        )
    return response


# ---------------------------------------------------------------- login


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_secret()
    response = page(
        request, "login.html", {"next": safe_next(next), "login_csrf": token, "user": None}
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/login")
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", "/")))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = str(form.get(CSRF_FIELD, ""))
    context = {
        "next": next_path,
        "login_csrf": expected or new_secret(),
        "user": None,
        "email": email,
    }
    if not expected or not same(sent, expected):
        return page(
            request, "login.html", {**context, "error": _("The form expired; try again.")}, 403
        )
    user = await directory.login(session, email, password)
    if user is None:
        return page(
            request, "login.html", {**context, "error": _("Email or password is wrong.")}, 401
        )
    secret = await start_session(session, user.id, settings.session_hours)
    response = see_other(next_path)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, user: WebUser, session: SessionDep) -> Response:
    await end_session(session, request.cookies.get(SESSION_COOKIE))
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def home(user: WebUser) -> Response:
    return see_other("/queue" if user.is_staff else "/portal")
