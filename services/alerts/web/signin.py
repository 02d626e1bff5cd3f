"""Signing in to the alerts service: a bearer token (API clients, a council's OIDC proxy) or
the ``casewatch_session`` cookie a browser gets from ``/login``.

The cookie holds the token itself (no server-side sessions: a restart keeps everyone signed
in until the token expires); it is ``HttpOnly`` (no script can read it), ``SameSite=Strict``
(no other site can send it) and ``Secure`` whenever the request came over HTTPS. Because the
cookie is sent automatically, every state-changing request signed in by cookie must also
carry the session's CSRF token; a bearer token is never ambient, so it needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

import jwt
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.alerts.store.caseload import Caseload
from services.alerts.web import page_login
from services.alerts.web.auth import InvalidToken, Principal
from services.alerts.web.context import AlertService, alert_service

SESSION_COOKIE = "casewatch_session"
CSRF_HEADER = "x-csrf-token"
API_PREFIXES = ("/alerts", "/me")


class NotSignedIn(Exception):
    """No valid credentials: the API answers 401, a page sends the browser to /login."""


class Forbidden(Exception):
    """Signed in, but not allowed: an integrator reading alerts, a missing CSRF token.
    ``reason`` is the bounded label of ``casewatch_alerts_access_denied_total``."""

    def __init__(self, detail: str, reason: str = "forbidden") -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Reader:
    principal: Principal
    session: str | None  # the cookie's token, when signed in by a browser

    @property
    def caseload(self) -> Caseload:
        return self.principal.caseload()


Service = Annotated[AlertService, Depends(alert_service)]


def signed_in(request: Request, service: Service) -> Reader:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotSignedIn("an Authorization header must be a Bearer token")
        return Reader(_verified(service, token.strip()), session=None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return Reader(_verified(service, cookie), session=cookie)
    raise NotSignedIn("sign in first")


def credentials_present(method: str, path: str, headers: dict[str, str]) -> str | None:
    """Before a write's body is read: refuse (401) a request that carries no credentials at
    all. The token itself is verified as the request is handled (a JWKS may need fetching)."""
    if method in ("GET", "HEAD", "OPTIONS") or path == "/login":
        return None
    if "authorization" in headers or f"{SESSION_COOKIE}=" in headers.get("cookie", ""):
        return None
    return "sign in first"


def foreign_origin(request: Request) -> bool:
    """A request a page of another site made the browser send (login CSRF):
    its ``Origin`` names another host, or ``Sec-Fetch-Site`` (set by the browser, not by the
    page) says it is cross-site. ``Origin: null`` is ambiguous (any page can send it), so it
    passes only when ``Sec-Fetch-Site`` vouches for the request."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False  # not a browser form (curl, a proxy), or a browser of before Origin
    if origin == "null":
        return fetch_site is None
    return urlsplit(origin).netloc != request.headers.get("host")


def alert_reader(reader: Annotated[Reader, Depends(signed_in)]) -> Reader:
    """A person who may read alerts: caseworker, manager or admin (not an integrator)."""
    if not reader.principal.reads_alerts:
        raise Forbidden("this role may not read alerts")
    return reader


SignedIn = Annotated[Reader, Depends(alert_reader)]


def require_csrf(
    request: Request, service: AlertService, reader: Reader, token: str | None
) -> None:
    """Refuse a cookie-signed write that lacks the session's CSRF token or comes from
    another origin."""
    if reader.session is None:
        return
    origin = request.headers.get("origin")
    # "null": what browsers send under our Referrer-Policy no-referrer; the token decides.
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("cross-origin request", reason="csrf")
    presented = token or request.headers.get(CSRF_HEADER)
    if not service.csrf.valid(reader.session, presented):
        raise Forbidden("missing or wrong CSRF token", reason="csrf")


def _verified(service: AlertService, token: str) -> Principal:
    try:
        return service.verifier.verify(token)
    except InvalidToken as exc:
        raise NotSignedIn("the token is not valid") from exc


router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, service: Service, token: str | None = None) -> Response:
    """``/login?token=…`` signs a browser in (embedded default only: with an identity
    provider, tokens do not belong in URLs); ``/login`` explains how to get a token."""
    if token is not None and service.config.local_keys:
        if foreign_origin(request) or _foreign_referer(request):
            return _confirm(request, service, token.strip())
        return _sign_in(request, service, token)
    page = HTMLResponse(page_login.login_page(local_keys=service.config.local_keys))
    # the form's post then carries this site's Origin even in browsers without Sec-Fetch-Site
    # (under no-referrer it would carry "null", which any other site can send too)
    page.headers["Referrer-Policy"] = "same-origin"
    return page


def _foreign_referer(request: Request) -> bool:
    """A navigation from another site's page, by its ``Referer`` (for browsers that send no
    ``Sec-Fetch-Site``; a page may suppress its Referer, which is why that header comes
    first)."""
    referer = request.headers.get("referer")
    return referer is not None and urlsplit(referer).netloc != request.headers.get("host")


def _confirm(request: Request, service: AlertService, token: str) -> Response:
    """A sign-in link opened from another site (a web mail, or a page that wants this browser
    signed in as *its* account: login CSRF) does not sign in by itself: the page says whose
    account it is and asks; the person's own click posts the form from this site."""
    try:
        principal = service.verifier.verify(token)
    except InvalidToken:
        return _not_valid(service)
    service.metrics.count_denied("csrf")
    confirm = page_login.confirm_page(principal.subject, sorted(principal.roles), token)
    response = HTMLResponse(confirm)
    response.headers["Referrer-Policy"] = "same-origin"  # the post carries this Origin
    response.headers["Cache-Control"] = "no-store"  # the page holds a token
    return response


@router.post("/login", response_class=HTMLResponse)
def login_form(request: Request, service: Service, token: Annotated[str, Form()]) -> Response:
    if foreign_origin(request):  # another site signing this browser in as someone else
        service.metrics.count_denied("csrf")
        page = page_login.login_page(local_keys=service.config.local_keys, foreign=True)
        return HTMLResponse(page, status_code=403)
    return _sign_in(request, service, token.strip())


@router.post("/logout")
def logout(
    request: Request,
    service: Service,
    reader: Annotated[Reader, Depends(signed_in)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    require_csrf(request, service, reader, csrf_token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _sign_in(request: Request, service: AlertService, token: str) -> Response:
    try:
        service.verifier.verify(token)
    except InvalidToken:
        return _not_valid(service)
    response = RedirectResponse("/", status_code=303)  # the token leaves the address bar
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=_seconds_left(token),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _not_valid(service: AlertService) -> Response:
    """The sign-in page saying the token is not valid (401), counted."""
    service.metrics.count_denied("unauthenticated")
    page = page_login.login_page(local_keys=service.config.local_keys, failed=True)
    return HTMLResponse(page, status_code=401)


def _seconds_left(token: str) -> int:
    """The cookie lives as long as the (already verified) token."""
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp", 0)
    return max(0, int(expires - datetime.now(UTC).timestamp()))


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)
