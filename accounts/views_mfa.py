"""The second step of signing in: set up an authenticator app once, then a code each time."""

import base64
import io

import qrcode
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from qrcode.image.svg import SvgPathImage

from accounts import mfa
from accounts.capabilities import second_factor_needed
from accounts.forms_users import CodeForm


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next(request)
    if not second_factor_needed(user):
        return redirect(next_url)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if not mfa.enrolled(user):
        device = mfa.enrolment_device(user)
        if form.is_valid():
            codes = mfa.enrolment_finish(request=request, token=form.cleaned_data["code"])
            if codes is not None:
                return render(
                    request, "accounts/backup_codes.html", {"codes": codes, "next": next_url}
                )
            form.add_error("code", "The code is not right: enter the 6 digits the app shows now")
        return render(
            request,
            "accounts/two_factor_enrol.html",
            {
                "form": form,
                "qr_svg": _qr_svg(device.config_url),
                "secret": _spaced(base64.b32encode(device.bin_key).decode()),
                "next": next_url,
            },
        )
    form.fields["code"].label = "Enter the code from your authenticator app"
    if form.is_valid():
        if mfa.verify(request=request, token=form.cleaned_data["code"]):
            return redirect(next_url)
        form.add_error("code", "The code is not right: enter the code the app shows now")
    return render(request, "accounts/two_factor.html", {"form": form, "next": next_url})


def _next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


def _qr_svg(url: str):
    # One <path>, not the namespaced <svg:rect>s of django_otp.qr: inline in HTML those
    # draw nothing.
    out = io.BytesIO()
    qrcode.make(url, image_factory=SvgPathImage, box_size=8).save(out)
    svg = out.getvalue().decode()
    # An inline picture of the key (generated here, not user input), described for screen
    # readers; the key is also shown as text beside it.
    svg = svg[svg.index("<svg") :]
    return mark_safe(  # noqa: S308 (our own generated SVG)
        svg.replace("<svg ", '<svg role="img" aria-label="QR code of your key" ', 1)
    )


def _spaced(key: str) -> str:
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))
