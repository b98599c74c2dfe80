"""Settings for Find who's working with a child: one module, read from the environment.

Secure when unset: DEBUG is off, SECRET_KEY must be given (except in demo mode,
which keeps a generated key under var/), cookies are Secure, HSTS is on.
"""

import ipaddress
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from signposting.database_url import databases

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# Demo mode: a visible banner, demo conveniences, a generated secret key and
# plain-http cookies on loopback. It relaxes nothing else.
DEMO = env.bool("SIGNPOSTING_DEMO", default=False)
# Two-factor sign-in (TOTP, with backup codes) for every role. Demo mode turns it off unless
# asked for, and its banner says so; everywhere else it is on unless turned off.
REQUIRE_MFA = env.bool("SIGNPOSTING_REQUIRE_MFA", default=not DEMO)
# Only a passkey (WebAuthn) counts as the second factor, for every role: no authenticator
# app, no backup codes. Off by default: passkeys are preferred, the app is the fallback.
REQUIRE_PASSKEY = env.bool("SIGNPOSTING_REQUIRE_PASSKEY", default=False)


def _demo_secret_key() -> str:
    """A key generated once per checkout and kept under var/, for demo mode only."""
    path = VAR_DIR / "demo_secret_key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default=None) or (_demo_secret_key() if DEMO else None)
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "Set the SECRET_KEY environment variable (or SIGNPOSTING_DEMO=true for a local demo)."
    )

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if (DEMO or DEBUG) else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# How many reverse proxies in front of the app append to X-Forwarded-For.
# 0 (default): the client is REMOTE_ADDR and the header is ignored entirely.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "auditlog",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "signposting",
    "accounts",
    "children",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The request id, the request's log line and its HTTP figures (signposting.http_metrics).
    "signposting.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session has given its second factor.
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.LockedAccountMiddleware",
    "signposting.middleware.SessionLifetimeMiddleware",
    "signposting.middleware.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside CSP's (its pages carry the nonce) and the request id's (they quote it).
    "signposting.middleware.ErrorPagesMiddleware",
    "signposting.middleware.TrustedProxyAuditlogMiddleware",
    # Last, so that a lockout answers before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "signposting.urls"
WSGI_APPLICATION = "signposting.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "signposting.context_processors.service",
            ],
        },
    },
]

# Database: PostgreSQL via psycopg 3 in production and CI; an SQLite file
# under var/ when DATABASE_URL is unset, so the service runs with no server.
# DATABASE_URL may name several hosts (libpq's multi-host form, with
# ?target_session_attrs=read-write): new connections then find the primary after a
# failover, and persistent ones (CONN_MAX_AGE) are health-checked before each request's
# first query, so one broken by the failover is dropped and opened again
# (signposting/database_url.py, docs/operations/database-cluster.md).
# DATABASE_REPLICA_URL (unset: off) is a streaming standby: the auditors' reports and
# exports and the read-only batch jobs read from it through signposting.db_router; lookups
# and every write stay on the primary (docs/decisions/0009).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASES = databases(
    url=env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'signposting.sqlite3'}"),
    replica_url=DATABASE_REPLICA_URL,
    conn_max_age=env.int("CONN_MAX_AGE", default=60),
)
DATABASE_ROUTERS = ["signposting.db_router.ReplicaRouter"]
# Whether replica_reads() scopes read from the `replica` alias (tests switch it on with an
# alias of their own: tests/replica.py).
REPLICA_READS = "replica" in DATABASES
# A replica further behind the primary than this is not read from (the primary is, and a
# warning logged): an auditor's report must not leave out the last minutes of lookups.
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=30.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A cache shared by every gunicorn worker: Django's database cache by default
# (`manage.py createcachetable`), Redis when CACHE_URL says so (e.g.
# redis://127.0.0.1:6379/1). Never per-process memory. (Lookup rate limits are
# counted from the audit trail itself: children/ratelimit.py.)
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://signposting_cache")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Single sign-on's callback only: its credentials (the code's nonce and verifier) fit no
    # other backend, and it asks django-axes itself once the provider has named the account
    # (accounts.single_sign_on). Ahead of axes, which would otherwise look up a lockout of
    # "no username" for it, and count one.
    "accounts.backends.SingleSignOnBackend",
    # Axes first for passwords: it refuses locked-out credentials before they are checked.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UserWithOrganisationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

# django-axes: 5 failures lock the username, and separately the client IP,
# for 30 minutes; a successful sign-in resets the count.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "signposting.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_VERBOSE = False
# ...and the single sign-on callback's code and state, kept with a failed attempt's query.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code", "state"]

# Sessions: 30 minutes idle (the cookie expiry slides with each request) and
# 12 hours absolute (SessionLifetimeMiddleware).
SESSION_ENGINE = "signposting.sessions"
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
# The idle expiry slides at most once a minute (signposting.middleware.SessionLifetimeMiddleware).
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Transport security. Demo mode serves plain http on loopback, so its cookies
# cannot be Secure; it is the only thing demo mode relaxes.
_https = not DEMO
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_https)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_https)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_https and not DEBUG)
# Load balancers probe /healthz over plain http from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT > 0 else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEMO else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # SECURE_SSL_REDIRECT may be off where TLS ends at a load balancer that
    # redirects http itself; README says so.
    *(["security.W008"] if env.bool("SECURE_SSL_REDIRECT_AT_PROXY", default=False) else []),
    # The search index's covering columns (children.Name) are a PostgreSQL
    # accelerator; SQLite builds the same index without them.
    "models.W040",
]

# Content Security Policy (django-csp 4): same-origin only, nonces for the
# one inline script GOV.UK Frontend needs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    },
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Built by `npm run build` from frontend/ (gitignored).
    BASE_DIR / "build" / "static",
    # GOV.UK Frontend from its pinned npm package; never copied into the repo.
    ("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Without a collectstatic run (tests, `manage.py runserver`), serve straight
# from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# django-auditlog: change history of users and organisations. Client IPs come
# from our trusted-proxy rule, never a raw X-Forwarded-For.
AUDITLOG_DISABLE_REMOTE_ADDR = False
AUDITLOG_CID_HEADER = None

# Logs: one JSON object a line on standard error, for every request and every command run,
# carrying its request id and never a child's details (docs/operations/logging.md).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "signposting.logs.ContextFilter"}},
    "formatters": {"json": {"()": "signposting.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's lines go to the JSON handler only: not also to its plain-text console (with
        # DEBUG) nor by e-mail to ADMINS (with the request, form and all).
        "django": {"handlers": [], "level": "INFO"},
        # Every request has its own line (signposting.requests), status included: Django's
        # own lines for 4xx answers would only repeat it. Errors keep their traceback.
        "django.request": {"level": "ERROR"},
        # runserver's line names the path, which may hold a child's public id.
        "django.server": {"handlers": [], "propagate": False},
        "axes": {"level": "WARNING"},
    },
}

# Error monitoring (signposting/monitoring.py): Sentry, only when SENTRY_DSN is set, with no
# request bodies, cookies, query strings or local variables and anything child-shaped blanked.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
if SENTRY_DSN:
    from signposting.monitoring import start_error_monitoring

    start_error_monitoring(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT)

# Prometheus metrics at /metrics (signposting.metrics): answered only with this bearer token
# or from these addresses or networks (the client address as signposting.client_ip reads
# it); neither set, /metrics is off (404 like any unknown path).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_network!r} is no address") from None

# E-mail (accounts.outbox): invitations, second-factor reset links, re-vetting reminders and
# "someone viewed a record you are told about" alerts, none with child data. Off unless one
# way of sending is set: GOV.UK Notify (GOVUK_NOTIFY_API_KEY, with a template id per kind of
# message) or SMTP (EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.gov.uk:587).
# Off, admins are shown the set-up links to pass on, and nobody is reminded or alerted.
# Messages go into an outbox in the transaction of the action that causes them; `nightly`
# and `send_outbox --follow` send them, retrying with a growing wait up to
# OUTBOX_MAX_ATTEMPTS tries.
GOVUK_NOTIFY_API_KEY = env.str("GOVUK_NOTIFY_API_KEY", default="")
GOVUK_NOTIFY_BASE_URL = env.str(
    "GOVUK_NOTIFY_BASE_URL", default="https://api.notifications.service.gov.uk"
)
# kind=template id pairs: invitation, second_factor_reset, vetting_due, vetting_due_admin,
# record_viewed (docs/operations/email.md gives each template's text).
GOVUK_NOTIFY_TEMPLATE_IDS = env.dict("GOVUK_NOTIFY_TEMPLATE_IDS", default={})
# A reply-to address set up in Notify (its id); unset: Notify's default for the service.
GOVUK_NOTIFY_REPLY_TO_ID = env.str("GOVUK_NOTIFY_REPLY_TO_ID", default="")
_EMAIL_URL = env.str("EMAIL_URL", default="")
if GOVUK_NOTIFY_API_KEY and _EMAIL_URL:
    raise ImproperlyConfigured("Set GOVUK_NOTIFY_API_KEY or EMAIL_URL, not both")
if GOVUK_NOTIFY_API_KEY:
    EMAIL_BACKEND = "accounts.notify.NotifyEmailBackend"
elif _EMAIL_URL:
    # django-environ's documented way: EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS...
    vars().update(env.email_url_config(_EMAIL_URL))
EMAIL_ENABLED = bool(GOVUK_NOTIFY_API_KEY or _EMAIL_URL)
# Seconds an SMTP server or Notify may take to answer before the try counts as failed.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Find who's working with a child <noreply@localhost>"
)
# The address links in messages start with (no request is at hand when `nightly` writes a
# reminder), e.g. https://find-who.example.gov.uk. Needed when e-mail is on.
SERVICE_URL = env.str("SERVICE_URL", default="").rstrip("/")
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
# How often `send_outbox --follow` looks for messages to send.
OUTBOX_POLL_SECONDS = env.float("OUTBOX_POLL_SECONDS", default=5.0)
# Sent and abandoned messages (who was sent what kind of message, and each try) are kept
# this many days, then deleted by `nightly`.
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=90)

SERVICE_NAME = "Find who's working with a child"
CSRF_FAILURE_VIEW = "signposting.views.csrf_failure"
AUDITLOG_LOGENTRY_MODEL = "audit.ChangeRecord"

# Retention: a child's record is kept this many months after their last
# involvement ends, and never past their 18th birthday plus the same period.
RETENTION_MONTHS = env.int("RETENTION_MONTHS", default=12)

# The nightly run (manage.py nightly) writes a checkpoint of the audit chain's head here,
# one file a run, and verifies the chain against the newest one before. Ship this directory
# off the host (and keep it between runs).
AUDIT_CHECKPOINT_DIR = Path(env.str("AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "checkpoints")))
# The audit chain is sealed after commit (audit.sealer, `seal_audit --follow`): an event
# older than this with no seal is an alarm (/healthz, the metrics) and fails verify_audit.
AUDIT_SEAL_DELAY_SECONDS = env.float("AUDIT_SEAL_DELAY_SECONDS", default=5.0)
# How long the audit trail stays in the database: `audit_archive` archives (and then removes)
# only months older than this, six years by default (docs/operations/audit-archive.md).
AUDIT_RETENTION_MONTHS = env.int("AUDIT_RETENTION_MONTHS", default=72)
# Where `audit_archive` writes the months it archives (keep it off this host: a mounted
# bucket or a backed-up volume).
AUDIT_ARCHIVE_DIR = Path(env.str("AUDIT_ARCHIVE_DIR", default=str(VAR_DIR / "audit-archive")))
# How often `seal_audit --follow` looks for events to seal when none waited, and how often a
# waiting sealer tries for the lock.
AUDIT_SEAL_INTERVAL_SECONDS = env.float("AUDIT_SEAL_INTERVAL_SECONDS", default=0.2)

# Anti-harvesting: searches plus record views one user may make in an hour.
LOOKUPS_PER_HOUR = env.int("LOOKUPS_PER_HOUR", default=60)
# How long "Back to results" shows the user's latest search results again (read from the
# trail, not a new lookup).
RESULTS_KEPT_MINUTES = env.int("RESULTS_KEPT_MINUTES", default=30)
# The Government Security Classifications marking printed at the top and foot of every
# printed record (a record of a child known to children's services is OFFICIAL-SENSITIVE).
RECORD_HANDLING_MARKING = env.str("RECORD_HANDLING_MARKING", default="OFFICIAL-SENSITIVE")
# An open involvement its source has not confirmed for this long is shown as
# "not confirmed since <date>" and listed for the area's data managers.
STALE_AFTER_MONTHS = env.int("STALE_AFTER_MONTHS", default=6)

# Oversight (audit.oversight.flags): the thresholds of the misuse rules. A rule is one small
# function there; these say when it fires.
# 1. volume: a user's searches and record views in one day above this many...
FLAG_VOLUME_DAILY_LIMIT = env.int("FLAG_VOLUME_DAILY_LIMIT", default=120)
# ...or above this many times their own median day over the previous 30 days, counted
# only on days with at least FLAG_VOLUME_MIN_LOOKUPS (a median of 2 makes 7 "unusual").
FLAG_VOLUME_MEDIAN_FACTOR = env.float("FLAG_VOLUME_MEDIAN_FACTOR", default=3.0)
FLAG_VOLUME_MIN_LOOKUPS = env.int("FLAG_VOLUME_MIN_LOOKUPS", default=20)
# 5. out of hours: lookups outside these local hours (start inclusive, end exclusive)
# or on these days (Monday is 0) are flagged, once per user per day.
FLAG_WORKING_HOURS = tuple(env.list("FLAG_WORKING_HOURS", cast=int, default=[7, 19]))
FLAG_WORKING_DAYS = tuple(env.list("FLAG_WORKING_DAYS", cast=int, default=[0, 1, 2, 3, 4]))
# ...and the bank holidays of England and Wales are not working days (the list bundled with
# govuk-bank-holidays; nothing is fetched). Off for a service staffed every day of the year.
FLAG_BANK_HOLIDAYS = env.bool("FLAG_BANK_HOLIDAYS", default=True)
# 6. fishing: a day with at least this many searches, and record views for at most
# this share of them.
FLAG_FISHING_MIN_SEARCHES = env.int("FLAG_FISHING_MIN_SEARCHES", default=20)
FLAG_FISHING_MAX_VIEW_RATIO = env.float("FLAG_FISHING_MAX_VIEW_RATIO", default=0.1)

# The child access report for a subject-access request (CSV and printable page) names
# the practitioners who looked; off, it gives only their organisation and role.
ACCESS_REPORT_NAMES_PRACTITIONERS = env.bool("ACCESS_REPORT_NAMES_PRACTITIONERS", default=True)
# An auditor's CSV export of the event list stops at this many rows.
AUDIT_EXPORT_MAX_ROWS = env.int("AUDIT_EXPORT_MAX_ROWS", default=50_000)
# Notices of views of your children's records: how far back the list and the count go.
NOTICE_DAYS = env.int("NOTICE_DAYS", default=90)

# Vetted access (accounts.vetting): a user's access lapses when their enhanced DBS check
# or their training is older than this; admins see "re-vetting due" this many days ahead.
VETTING_DBS_MONTHS = env.int("VETTING_DBS_MONTHS", default=36)
VETTING_TRAINING_MONTHS = env.int("VETTING_TRAINING_MONTHS", default=12)
VETTING_DUE_DAYS = env.int("VETTING_DUE_DAYS", default=30)
# May an LA admin make a user an auditor? Off: auditors are appointed by platform operators.
LA_ADMINS_MAY_GRANT_AUDITOR = env.bool("LA_ADMINS_MAY_GRANT_AUDITOR", default=False)
# The name an authenticator app shows next to the code.
OTP_TOTP_ISSUER = "Find who's working with a child"
# An invitation link for a new user works once, for this many hours.
INVITATION_HOURS = env.int("INVITATION_HOURS", default=72)

# Passkeys (django-otp-webauthn), as a second factor only: a password comes first, so no
# passwordless sign-in. The relying party is the service's own host name and origin, as the
# request gives them (checked against ALLOWED_HOSTS), unless set (accounts.passkeys).
OTP_WEBAUTHN_RP_NAME = "Find who's working with a child"
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "accounts.passkeys.PasskeyHelper"
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "accounts.passkeys"
# The host name passkeys are bound to (e.g. signposting.example.gov.uk); changing it later
# makes every passkey stop working. Unset: the host of each request.
WEBAUTHN_RP_ID = env("WEBAUTHN_RP_ID", default="")
OTP_WEBAUTHN_RP_ID_CALLABLE = "accounts.passkeys.relying_party_id"
# The origins a passkey may be used from, besides the request's own (accounts.passkeys).
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "WEBAUTHN_ORIGINS",
    default=[f"https://{host}" for host in ALLOWED_HOSTS if host and host[0] not in ".*0123456789["]
    or ["http://localhost"],
)
# The match model (children/matching): the model file (the shipped one when unset) and the
# number of children the one searched for could be (England's under-18s, about 12 million).
MATCH_MODEL_PATH = env("MATCH_MODEL_PATH", default="")
MATCH_POPULATION = env.int("MATCH_POPULATION", default=12_000_000)
# How long a set-up session (after an invitation or a reset link) may take to enrol.
SECOND_FACTOR_SETUP_MINUTES = 30

# Single sign-on with an organisation's own identity provider (OpenID Connect, e.g. Microsoft
# Entra ID; accounts.single_sign_on, docs/operations/single-sign-on.md). Each organisation's
# provider is set up by platform operators in /django-admin/, its client secret in an
# environment variable OIDC_CLIENT_SECRET_<NAME> that the row names. Off: no single sign-on
# page or URL answers (404) and the sign-in page offers none.
OIDC_ENABLED = env.bool("OIDC_ENABLED", default=False)
