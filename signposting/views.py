"""Top-level pages: the start page, health check and error pages."""

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from accounts.capabilities import vetting_of
from audit.partitions import missing_ahead
from audit.selectors import sealing_behind
from signposting.metrics import CONTENT_TYPE, exposition, scrape_allowed
from signposting.proxies import untrusted_forwarding_seen

logger = logging.getLogger(__name__)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    vetting = vetting_of(user) if user.is_authenticated and user.role else None
    return render(request, "home.html", {"vetting": vetting})


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability for load balancers; says nothing else."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("Health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    # Still serving (200) with a warning, but the operator must see it.
    warnings = {}
    if untrusted_forwarding_seen():
        warnings["client_ip"] = "proxy_not_trusted"  # signposting.proxies
    audit_seal = _audit_seal()
    if audit_seal:
        warnings["audit_seal"] = audit_seal
    audit_partitions = _audit_partitions()
    if audit_partitions:
        warnings["audit_partitions"] = audit_partitions
    if warnings:
        return JsonResponse({"status": "warning", "database": "ok", **warnings})
    return JsonResponse({"status": "ok", "database": "ok"})


def _audit_seal() -> str:
    """ "behind" when an audit event older than AUDIT_SEAL_DELAY_SECONDS waits for its seal
    (is `seal_audit --follow` running?), "unknown" if that cannot be read; "" when all is
    well. Lookups are still recorded, so the service keeps serving."""
    try:
        behind = sealing_behind(now=timezone.now(), delay_seconds=settings.AUDIT_SEAL_DELAY_SECONDS)
    except Exception:
        logger.exception("Health check: the audit sealer's queue could not be read")
        return "unknown"
    return "behind" if behind else ""


def _audit_partitions() -> str:
    """ "missing" when this month or next has no partition of the audit trail (PostgreSQL):
    is the sealer running? Next month's lookups would fail closed. "unknown" if that cannot
    be read; "" when all is well."""
    try:
        missing = missing_ahead()
    except Exception:
        logger.exception("Health check: the audit trail's partitions could not be listed")
        return "unknown"
    return "missing" if missing else ""


@never_cache
@csrf_exempt  # a POST must meet the same 404 as at any unknown path, not a CSRF refusal
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (signposting.metrics), for the scrape token or an allow-listed
    address only: anyone else, or any method but GET and HEAD, gets the ordinary not-found
    page, as at any unknown path."""
    if request.method not in ("GET", "HEAD") or not scrape_allowed(request=request):
        return page_not_found(request)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


SERVICE_NAME = "Find who's working with a child"


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without a RequestContext on purpose: the failure may lie in
    # whatever a context processor would need. A database that cannot be reached (even
    # before any view ran: the session, the user) is a 503: it will pass.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return service_unavailable(request)
    return render(
        None,
        "errors/500.html",
        {"service_name": SERVICE_NAME, "request_id": getattr(request, "request_id", "")},
        status=500,
    )


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """The database cannot be reached: a page that needs none of it (no session, no user)."""
    response = render(
        None,
        "errors/503.html",
        {"service_name": SERVICE_NAME, "request_id": getattr(request, "request_id", "")},
        status=503,
    )
    response["Retry-After"] = "30"
    return response


def method_not_allowed(request: HttpRequest, allowed: str) -> HttpResponse:
    response = render(request, "errors/405.html", status=405)
    response["Allow"] = allowed
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "errors/csrf.html", status=403)


# --- The service's own pages (the footer's links): readable signed in or out ------------


@require_safe
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "service/accessibility.html")


@require_safe
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "service/privacy.html", {"retention_months": settings.RETENTION_MONTHS})


@require_safe
def cookies(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "service/cookies.html",
        {
            "idle_minutes": settings.SESSION_COOKIE_AGE // 60,
            "absolute_hours": settings.SESSION_ABSOLUTE_SECONDS // 3600,
        },
    )


@require_safe
def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "service/help.html", {"lookups_per_hour": settings.LOOKUPS_PER_HOUR})
