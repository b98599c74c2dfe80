"""The second step of signing in: a passkey (preferred) or a code from an authenticator app,
set up once inside the invitation or reset journey (accounts.mfa)."""

import base64
import io
from urllib.parse import urlencode

import qrcode
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from qrcode.image.svg import SvgPathImage

from accounts import mfa
from accounts.capabilities import second_factor_needed
from accounts.forms_users import CodeForm
from accounts.selectors import area_admins


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = mfa.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if not second_factor_needed(user):
        codes = mfa.backup_codes_due(request)
        if codes is not None:
            # Just set up: the backup codes, made now and shown this once.
            return render(request, "accounts/backup_codes.html", {"codes": codes, "next": next_url})
        return redirect(next_url)
    if user.is_verified():
        # Only a passkey counts, and this session gave a code: it sets one up now.
        return _passkey_setup(request, next_url, upgrade=True)
    if mfa.enrolled(user):
        return _verify(request, next_url)
    if not mfa.may_enrol(request):
        # A password alone never sees a key: setting up happens only through a link.
        return render(
            request,
            "accounts/two_factor_needs_link.html",
            {"admins": area_admins(user=user)},
            status=403,
        )
    if request.GET.get("method", request.POST.get("method")) == "app" and (
        not settings.REQUIRE_PASSKEY
    ):
        return _app_setup(request, next_url)
    return _passkey_setup(request, next_url)


def _passkey_setup(request: HttpRequest, next_url: str, *, upgrade: bool = False):
    return render(
        request,
        "accounts/two_factor_passkey.html",
        {
            "next": next_url,
            "upgrade": upgrade,
            "app_allowed": not settings.REQUIRE_PASSKEY and not upgrade,
        },
    )


def _app_setup(request: HttpRequest, next_url: str) -> HttpResponse:
    user = request.user
    device = mfa.enrolment_device(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        if mfa.enrolment_finish(request=request, token=form.cleaned_data["code"]):
            return redirect(f"{request.path}?{urlencode({'next': next_url})}")
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


def _verify(request: HttpRequest, next_url: str) -> HttpResponse:
    user = request.user
    codes_allowed = mfa.may_use_codes(user) and (mfa.has_app(user) or mfa.has_backup_codes(user))
    form = CodeForm(request.POST if request.method == "POST" else None)
    form.fields["code"].label = "Enter the code from your authenticator app"
    if request.method == "POST" and codes_allowed and form.is_valid():
        if mfa.verify(request=request, token=form.cleaned_data["code"]):
            return redirect(next_url)
        form.add_error("code", "The code is not right: enter the code the app shows now")
    return render(
        request,
        "accounts/two_factor.html",
        {
            "form": form,
            "next": next_url,
            "passkey": mfa.has_passkey(user),
            "codes_allowed": codes_allowed,
            "has_app": mfa.has_app(user),
        },
    )


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
