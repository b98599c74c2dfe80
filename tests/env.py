"""Test-only environment, loaded as a pytest plugin before Django's settings are read."""

import os

# Settings are production-shaped everywhere; tests only provide what the
# environment would, and never override what the caller set explicitly.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# TLS ends at the load balancer in production; the test client and the live
# server speak plain HTTP. tests/security checks the production redirect.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SIGNPOSTING_DEMO", "false")
# Playwright's sync API runs an event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("STATIC_MANIFEST", "false")
