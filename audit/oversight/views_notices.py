"""Notices: views of your children's records by people outside the child's services."""

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from audit.lookup import audited_lookup
from audit.models import Action
from audit.oversight import notices as notice_reads
from audit.oversight.reports import reason_label, role_label
from audit.services import record
from children.selectors import current_names

SHOWN = 200


@require_safe
@requires(Capability.READ_NOTICES)
@audited_lookup
def notices(request: HttpRequest) -> HttpResponse:
    """The last NOTICE_DAYS of notices, newest first; those since the last visit marked new.
    Opening the list marks them read. The list names children, so it is a lookup."""
    now = timezone.now()
    read_before = request.user.notices_read_at
    shown = list(notice_reads.notices_for(user=request.user, now=now)[:SHOWN])
    names = current_names(public_ids={notice.child_public_id for notice in shown})
    record(
        request=request,
        action=Action.NOTICE_REVIEW,
        children=sorted({notice.child_public_id for notice in shown}),
        result_count=len(shown),
    )
    notice_reads.mark_read(user=request.user, at=now)
    rows = [
        {
            "notice": notice,
            "child_name": names.get(notice.child_public_id, ""),
            "new": read_before is None or notice.viewed_at > read_before,
            "because": notice_reads.BECAUSE.get(notice.because, ""),
            "viewer_role": role_label(notice.viewer_role),
            "reason": reason_label(notice.reason_code),
        }
        for notice in shown
    ]
    return TemplateResponse(
        request,
        "audit/notices.html",
        {"rows": rows, "days": notice_reads.notices_since(now=now), "shown_max": SHOWN},
    )
