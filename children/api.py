"""The feed API for case management systems: POST /api/v1/involvements (docs/api/openapi.json).

The body is the import format as JSON (one object, or a list of them), checked and
written exactly as `manage.py import_records` does (children.imports), with the
token's source as the upsert key. A token writes only its own local authority's
records. Every call is audited: imports (committed, dry run or refused) as
record_import events by children.imports, refusals before that as access_denied.
"""

import json
import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from audit.models import Action
from audit.services import record
from children.feed import feed_token_for
from children.imports import ParsedFile, RowError, import_rows, parse_data

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024


def _problem(status: int, title: str, **extra) -> JsonResponse:
    response = JsonResponse({"title": title, "status": status, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="feed"'
    return response


def _refuse(request: HttpRequest, status: int, title: str, why: str, **detail) -> JsonResponse:
    record(
        request=request,
        action=Action.ACCESS_DENIED,
        outcome="denied",
        detail={"api": "involvements", "status": status, "why": why, **detail},
    )
    return _problem(status, title)


@csrf_exempt  # no cookies: a bearer token authenticates every call
@never_cache
@require_POST
def involvements(request: HttpRequest) -> JsonResponse:
    token = feed_token_for(request.headers.get("Authorization", ""))
    if token is None:
        return _refuse(request, 401, "A valid feed token is needed", "no_valid_token")
    source = token.source
    area_code = token.local_authority.ons_code
    if request.content_type != "application/json":
        return _refuse(
            request, 415, "Send the involvements as application/json", "not_json", source=source
        )
    length = request.headers.get("Content-Length", "")
    too_long = length.isdigit() and int(length) > MAX_BODY_BYTES
    # Read from the stream, at most one byte past the limit: never the whole of a huge body.
    body = b"" if too_long else request.read(MAX_BODY_BYTES + 1)
    if too_long or len(body) > MAX_BODY_BYTES:
        return _refuse(
            request,
            413,
            f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB: send fewer rows a call",
            "too_large",
            source=source,
        )
    try:
        content = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        parsed = ParsedFile(
            rows=[],
            sha256="",
            format="json",
            errors=(RowError(None, "", "The body is not valid JSON."),),
        )
        return _report(import_rows(rows=parsed, source=source, request=request))
    if isinstance(content, dict):
        content = [content]
    parsed = parse_data(content)
    outside = sorted(
        row.number
        for row in parsed.rows
        if str(row.values.get("local_authority", "")).strip().upper() not in ("", area_code)
    )
    if outside:
        return _refuse(
            request,
            403,
            f"This token writes only records in {token.local_authority.name} ({area_code})",
            "outside_area",
            source=source,
            rows=outside[:100],
        )
    dry_run = request.GET.get("dry_run", "").lower() in ("1", "true", "yes")
    return _report(
        import_rows(
            rows=parsed,
            source=source,
            dry_run=dry_run,
            request=request,
            area=token.local_authority,
        )
    )


def _report(report) -> JsonResponse:
    body = {
        "outcome": report.outcome.value,
        "source": report.source,
        "rows": report.rows,
        "sha256": report.file_sha256,
    }
    if report.refused:
        body["errors"] = [
            {"row": error.row, "field": error.field, "message": error.message}
            for error in report.errors
        ]
        return JsonResponse(body, status=400)
    body["children"] = _counts(report.children)
    body["involvements"] = _counts(report.involvements)
    # New children that look like one already on the register wait for a data manager.
    body["held"] = [
        {"rows": list(group.rows), "child_ref": group.child_ref} for group in report.held
    ]
    return JsonResponse(body, status=200)


def _counts(counts) -> dict[str, int]:
    return {"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged}
