"""Test-only lookup views that use audit.lookup.audited_lookup as real lookup views must."""

from django.http import HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import include, path

from accounts.models import Organisation
from audit.lookup import audited_lookup
from audit.models import Action
from audit.services import record

PAGE = engines["django"].from_string("<p>Secret record: {{ name }}</p>")


@audited_lookup
def lookup(request):
    # Stands in for reading a child's record, plus a write that must roll back
    # with the audit event (e.g. a rate-limit counter or a notice).
    Organisation.objects.create(
        kind="partner_agency",
        name="Written during the lookup",
        local_authority=Organisation.objects.get(ons_code="E06000001"),
    )
    record(request=request, action=Action.RECORD_VIEW, children=["7KQ-4M2-PX9"])
    return TemplateResponse(request, PAGE, {"name": "Child Seven-Kay-Q"})


@audited_lookup
def forgetful(request):
    return HttpResponse("<p>Secret record: Child Seven-Kay-Q</p>")


@audited_lookup
def denied(request):
    record(request=request, action=Action.ACCESS_DENIED, outcome="denied")
    return HttpResponse("You cannot see this record", status=403)


urlpatterns = [
    path("lookup/", lookup),
    path("forgetful/", forgetful),
    path("denied/", denied),
    path("", include("signposting.urls")),
]
