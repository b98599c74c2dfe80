"""E-mail is off unless set, and a setting that could not send is found at start-up."""

import uuid

from tests.security.test_settings import run_manage

PRODUCTION = {
    "SECRET_KEY": "a-production-like-secret-key-with-plenty-of-entropy-1234567890-abcdef",
    "ALLOWED_HOSTS": "signposting.example",
    "TRUSTED_PROXY_COUNT": "1",
}
SHOW = (
    "from django.conf import settings as s; "
    "print(s.EMAIL_ENABLED, s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"
)
KEY = f"live_key-{uuid.uuid4()}-{uuid.uuid4()}"
TEMPLATES = ",".join(
    f"{kind}={uuid.uuid4()}"
    for kind in (
        "invitation",
        "second_factor_reset",
        "vetting_due",
        "vetting_due_admin",
        "record_viewed",
    )
)


def settings_line(**env: str) -> str:
    result = run_manage("shell", "-c", SHOW, **PRODUCTION, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_email_is_off_when_nothing_is_set():
    assert settings_line().startswith("False ")


def test_an_smtp_url_turns_smtp_on_with_tls():
    line = settings_line(
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.gov.uk:587",
        SERVICE_URL="https://signposting.example",
    )
    assert line == ("True django.core.mail.backends.smtp.EmailBackend smtp.example.gov.uk 587 True")


def test_a_notify_key_turns_notify_on_and_check_deploy_is_clean():
    env = {
        "GOVUK_NOTIFY_API_KEY": KEY,
        "GOVUK_NOTIFY_TEMPLATE_IDS": TEMPLATES,
        "SERVICE_URL": "https://signposting.example",
    }
    assert settings_line(**env).startswith("True accounts.notify.NotifyEmailBackend")
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, **env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_email_without_the_services_address_stops_the_checks():
    result = run_manage("check", EMAIL_URL="smtp://127.0.0.1:25", **PRODUCTION)
    assert result.returncode != 0
    assert "accounts.E001" in result.stderr


def test_notify_without_every_template_or_with_a_malformed_key_stops_the_checks():
    result = run_manage(
        "check",
        GOVUK_NOTIFY_API_KEY="not-a-key",
        GOVUK_NOTIFY_TEMPLATE_IDS=f"invitation={uuid.uuid4()}",
        SERVICE_URL="https://signposting.example",
        **PRODUCTION,
    )
    assert result.returncode != 0
    assert "no template id for 'record_viewed'" in result.stderr
    assert "no template id for 'invitation'" not in result.stderr
    assert "accounts.E003" in result.stderr


def test_notify_and_smtp_together_are_refused():
    result = run_manage(
        "check", GOVUK_NOTIFY_API_KEY=KEY, EMAIL_URL="smtp://127.0.0.1:25", **PRODUCTION
    )
    assert result.returncode != 0
    assert "Set GOVUK_NOTIFY_API_KEY or EMAIL_URL, not both" in result.stderr
