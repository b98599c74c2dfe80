"""Cross-cutting request handling: request ids and the request log line, session lifetime,
caching of signed-in pages."""

import re
import time
import uuid
from collections.abc import Callable

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from signposting import http_metrics
from signposting.client_ip import client_ip
from signposting.logs import log_context, request_line
from signposting.proxies import note_untrusted_forwarding

Handler = Callable[[HttpRequest], HttpResponse]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
SESSION_STARTED_KEY = "signposting_started_at"
SESSION_SEEN_KEY = "signposting_seen_at"
SESSION_REFRESH_SECONDS = 60


class RequestIdMiddleware:
    """Gives every request an id (a trusted proxy's X-Request-ID, or a new UUID) and echoes it;
    every log line written while it is served carries the id, and it ends with one line of its
    own: who (user id and role, never a name), which page (the URL pattern's name, never the
    path: it may hold a child's public id), the status and how long it took. The same figures
    are counted for Prometheus (signposting.http_metrics)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        note_untrusted_forwarding(request)
        incoming = request.headers.get("X-Request-ID", "")
        trusted = settings.TRUSTED_PROXY_COUNT > 0 and _REQUEST_ID.match(incoming)
        request.request_id = incoming if trusted else uuid.uuid4().hex
        with log_context(request_id=request.request_id):
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            user_id, role = _signed_in(request)
            match = request.resolver_match
            url_name = match.view_name if match else None
            seconds = time.perf_counter() - started
            request_line(
                request_id=request.request_id,
                user_id=user_id,
                role=role,
                url_name=url_name,
                method=request.method,
                status=response.status_code,
                duration_ms=round(seconds * 1000, 1),
            )
            http_metrics.observe(
                view=url_name, method=request.method, status=response.status_code, seconds=seconds
            )
        return response


def _signed_in(request: HttpRequest) -> tuple[int | None, str | None]:
    """The user's id and role, if the request already knew who they are. Only the user that
    the authentication middleware has already loaded (and cached on the request): asking now
    could cost a query, or fail when the database is what went wrong."""
    user = request.__dict__.get("_cached_user")
    if user is None or not user.is_authenticated:
        return None, None
    return user.pk, user.role or None


class ErrorPagesMiddleware:
    """Django's bare 405 (require_http_methods answers with an empty body) becomes the
    service's page, with the request id to quote; the API's answers are left as they are
    (described JSON). (A database that cannot be reached is the 500 handler's to answer, as
    a 503: signposting.views.server_error.)"""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 405
            and not response.content
            and not request.path.startswith("/api/")
        ):
            from signposting.views import method_not_allowed

            return method_not_allowed(request, response.get("Allow", ""))
        return response


class SessionLifetimeMiddleware:
    """Ends a signed-in session 12 hours after sign-in, however active it has been, and
    slides its idle expiry (SESSION_COOKIE_AGE, 30 minutes) with activity.

    The idle expiry is the session store's expiry date, pushed forward whenever the
    session is saved. Saving on every request would cost a database write and commit
    per page, so activity is noted at most once a minute: a session then ends between
    29 and 30 idle minutes after the last request.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            session = request.session
            started = session.get(SESSION_STARTED_KEY)
            now = time.time()
            if started is None:
                session[SESSION_STARTED_KEY] = now
            elif now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                return redirect(f"{reverse('login')}?expired=1")
            if now - session.get(SESSION_SEEN_KEY, 0) >= SESSION_REFRESH_SECONDS:
                session[SESSION_SEEN_KEY] = now  # modified: saved, so the expiry slides
        return self.get_response(request)


class NoStoreForSignedInMiddleware:
    """Signed-in pages may show personal data: no browser or proxy may keep them."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated or request.path.startswith("/accounts/"):
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        return response


class TrustedProxyAuditlogMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware, with the client IP from our trusted-proxy rule."""

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        return client_ip(request) or None

    @staticmethod
    def _get_remote_port(request: HttpRequest) -> None:
        return None
