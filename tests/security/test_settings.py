"""Production settings are secure when the environment says nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "SECRET_KEY",
            "DEBUG",
            "SIGNPOSTING_DEMO",
            "SECURE_SSL_REDIRECT",
            "ALLOWED_HOSTS",
            "STATIC_MANIFEST",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "SIGNPOSTING_REQUIRE_MFA",
            "TRUSTED_PROXY_COUNT",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_missing_secret_key_stops_the_service():
    result = run_manage("check")
    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="a-production-like-secret-key-with-plenty-of-entropy-1234567890-abcdef",
        ALLOWED_HOSTS="signposting.example",
        TRUSTED_PROXY_COUNT="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_until_the_proxy_count_is_set():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="a-production-like-secret-key-with-plenty-of-entropy-1234567890-abcdef",
        ALLOWED_HOSTS="signposting.example",
    )
    assert result.returncode != 0
    assert "signposting.W001" in result.stdout + result.stderr


def test_debug_is_off_unless_asked_for():
    result = run_manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.DEMO)",
        SECRET_KEY="x" * 60,
    )
    assert result.stdout.split() == ["False", "False"], result.stderr


@pytest.mark.parametrize("demo", ["true", "false"])
def test_demo_mode_relaxes_only_cookie_transport(demo, tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_AGE, "
        "s.AXES_FAILURE_LIMIT, s.X_FRAME_OPTIONS, s.DEBUG)"
    )
    result = run_manage("shell", "-v", "0", "-c", code, SIGNPOSTING_DEMO=demo, SECRET_KEY="x" * 60)
    secure = "False" if demo == "true" else "True"
    assert result.stdout.split() == [secure, secure, "1800", "5", "DENY", "False"], result.stderr


@pytest.mark.parametrize(
    ("demo", "asked", "required"),
    [
        ("false", None, "True"),  # production: on unless turned off
        ("true", None, "False"),  # demo mode: off unless asked for (the banner says so)
        ("true", "true", "True"),
        ("false", "false", "False"),
    ],
)
def test_two_factor_sign_in_is_on_outside_demo_mode(demo, asked, required):
    env = {"SIGNPOSTING_DEMO": demo, "SECRET_KEY": "x" * 60}
    if asked is not None:
        env["SIGNPOSTING_REQUIRE_MFA"] = asked
    code = "from django.conf import settings; print(settings.REQUIRE_MFA)"
    result = run_manage("shell", "-v", "0", "-c", code, **env)
    assert result.stdout.split() == [required], result.stderr
