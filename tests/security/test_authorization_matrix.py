"""Every URL x every kind of user x method → the answer expected.

Add a row here with every new URL; the suite fails while a URL pattern is
missing from MATRIX.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from dateutil.relativedelta import relativedelta
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import Role
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "practitioner",
    "data_manager",
    "la_admin",
    "auditor",
    "operator",  # platform operator: Django superuser
    "inactive",  # a signed-in user since deactivated
    "locked",  # a signed-in user whose username django-axes has since locked
    "vetting_lapsed",  # a practitioner whose DBS check is more than 3 years old
    # A practitioner signed in with their password who has not given the second factor:
    # every page that needs a capability sends them to the two-factor step first.
    "mfa_pending",
]

OK, REDIRECT, FORBIDDEN, NOT_ALLOWED = 200, 302, 403, 405


def every(status: int, **exceptions: int) -> dict[str, int]:
    answers = dict.fromkeys(ROLES, status)
    answers.update(exceptions)
    # A locked account is signed out before any view runs.
    answers.setdefault("locked", answers["locked"])
    return answers


SIGNED_OUT_ANSWER = {"anonymous": OK, "inactive": OK, "locked": REDIRECT}
ADMIN_ONLY = every(REDIRECT, operator=OK)
# Views behind @requires(capability): sign in first; others signed in get 403.
SIGNED_IN_FORBIDDEN = {
    "practitioner": FORBIDDEN,
    "data_manager": FORBIDDEN,
    "la_admin": FORBIDDEN,
    "auditor": FORBIDDEN,
    "operator": FORBIDDEN,
    # Told why on a page of its own (accounts/vetting_lapsed.html), with a 403.
    "vetting_lapsed": FORBIDDEN,
}
AUDITORS_ONLY = every(REDIRECT, **{**SIGNED_IN_FORBIDDEN, "auditor": OK})
SEARCHERS_ONLY = every(REDIRECT, **{**SIGNED_IN_FORBIDDEN, "practitioner": OK, "data_manager": OK})
# A record opens only from the user's own latest search results: asked for directly,
# every signed-in user is refused (and a searcher's attempt is audited as access_denied).
RECORD = "/children/7KQ-4M2-PXA/"
MANAGE = "/manage/children/7KQ-4M2-PXA/"
DATA_MANAGERS_ONLY = every(REDIRECT, **{**SIGNED_IN_FORBIDDEN, "data_manager": OK})
DATA_MANAGERS_NOT_FOUND = every(REDIRECT, **{**SIGNED_IN_FORBIDDEN, "data_manager": 404})
USER = "/manage/users/999999/"
PASSKEYS = "/accounts/passkeys/"
LA_ADMINS_ONLY = every(REDIRECT, **{**SIGNED_IN_FORBIDDEN, "la_admin": OK})
LA_ADMINS_NOT_FOUND = every(REDIRECT, **{**SIGNED_IN_FORBIDDEN, "la_admin": 404})

# (url name, path, method) -> {role: status}
MATRIX: dict[tuple[str, str, str], dict[str, int]] = {
    ("home", "/", "GET"): every(OK, locked=REDIRECT),
    ("home", "/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("health", "/healthz", "GET"): every(OK, locked=REDIRECT),
    ("health", "/healthz", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    # Prometheus metrics: only with the scrape token or from an allow-listed address
    # (tests/test_metrics.py); to anyone else, as to any unknown path, not found.
    ("metrics", "/metrics", "GET"): every(404, locked=REDIRECT),
    ("metrics", "/metrics", "POST"): every(404, locked=REDIRECT),
    # The service's own pages, for everyone, signed in or out.
    ("accessibility", "/accessibility/", "GET"): every(OK, locked=REDIRECT),
    ("accessibility", "/accessibility/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("privacy", "/privacy/", "GET"): every(OK, locked=REDIRECT),
    ("privacy", "/privacy/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("cookies", "/cookies/", "GET"): every(OK, locked=REDIRECT),
    ("cookies", "/cookies/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("help", "/help/", "GET"): every(OK, locked=REDIRECT),
    ("help", "/help/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("login", "/accounts/login/", "GET"): every(REDIRECT, **SIGNED_OUT_ANSWER),
    # The second step of signing in: only for a session that still has to give it.
    ("two-factor", "/accounts/two-factor/", "GET"): every(REDIRECT, mfa_pending=OK),
    ("two-factor", "/accounts/two-factor/", "POST"): every(REDIRECT, mfa_pending=OK),
    ("logout", "/accounts/logout/", "GET"): every(NOT_ALLOWED, locked=REDIRECT),
    ("logout", "/accounts/logout/", "POST"): every(OK, locked=REDIRECT),
    # Django's admin is for platform operators only; each registered model's
    # change list stands for that model's admin views.
    ("admin:index", "/django-admin/", "GET"): ADMIN_ONLY,
    ("admin:login", "/django-admin/login/", "GET"): every(OK, operator=REDIRECT, locked=REDIRECT),
    ("admin:logout", "/django-admin/logout/", "POST"): every(REDIRECT, operator=OK),
    ("admin:password_change", "/django-admin/password_change/", "GET"): ADMIN_ONLY,
    ("admin:password_change_done", "/django-admin/password_change/done/", "GET"): ADMIN_ONLY,
    ("admin:jsi18n", "/django-admin/jsi18n/", "GET"): ADMIN_ONLY,
    ("admin:accounts_user_changelist", "/django-admin/accounts/user/", "GET"): ADMIN_ONLY,
    ("admin:accounts_outboundemail_changelist", "/django-admin/accounts/outboundemail/", "GET"): (
        ADMIN_ONLY
    ),
    (
        "admin:accounts_organisation_changelist",
        "/django-admin/accounts/organisation/",
        "GET",
    ): ADMIN_ONLY,
    ("admin:accounts_singlesignon_changelist", "/django-admin/accounts/singlesignon/", "GET"): (
        ADMIN_ONLY
    ),
    ("admin:auth_group_changelist", "/django-admin/auth/group/", "GET"): ADMIN_ONLY,
    ("admin:axes_accessattempt_changelist", "/django-admin/axes/accessattempt/", "GET"): (
        ADMIN_ONLY
    ),
    ("admin:axes_accessfailurelog_changelist", "/django-admin/axes/accessfailurelog/", "GET"): (
        ADMIN_ONLY
    ),
    ("admin:axes_accesslog_changelist", "/django-admin/axes/accesslog/", "GET"): ADMIN_ONLY,
    ("admin:audit_auditevent_changelist", "/django-admin/audit/auditevent/", "GET"): ADMIN_ONLY,
    ("admin:audit_changerecord_changelist", "/django-admin/audit/changerecord/", "GET"): (
        ADMIN_ONLY
    ),
    # LA admins manage their own area's users; a user who is not theirs (here, nobody)
    # is not found.
    ("accounts:users", "/manage/users/", "GET"): LA_ADMINS_ONLY,
    ("accounts:users", "/manage/users/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("accounts:user-create", "/manage/users/new/", "GET"): LA_ADMINS_ONLY,
    ("accounts:user-create", "/manage/users/new/", "POST"): LA_ADMINS_ONLY,
    ("accounts:user-create", "/manage/users/new/", "PUT"): every(NOT_ALLOWED, locked=REDIRECT),
    ("accounts:user-invitation", USER + "invitation/", "GET"): every(NOT_ALLOWED, locked=REDIRECT),
    ("accounts:user-invitation", USER + "invitation/", "POST"): LA_ADMINS_NOT_FOUND,
    # An invitation link works for whoever holds it, signed in or not; this one never did.
    ("invitation", "/accounts/invitation/not-a-real-token/", "GET"): every(410, locked=REDIRECT),
    ("invitation", "/accounts/invitation/not-a-real-token/", "POST"): every(410, locked=REDIRECT),
    ("invitation", "/accounts/invitation/not-a-real-token/", "PUT"): every(
        NOT_ALLOWED, locked=REDIRECT
    ),
    ("accounts:user", USER, "GET"): LA_ADMINS_NOT_FOUND,
    ("accounts:user", USER, "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("accounts:user-vetting", USER + "vetting/", "GET"): LA_ADMINS_NOT_FOUND,
    ("accounts:user-vetting", USER + "vetting/", "POST"): LA_ADMINS_NOT_FOUND,
    ("accounts:user-role", USER + "role/", "GET"): LA_ADMINS_NOT_FOUND,
    ("accounts:user-role", USER + "role/", "POST"): LA_ADMINS_NOT_FOUND,
    ("accounts:user-status", USER + "status/", "GET"): LA_ADMINS_NOT_FOUND,
    ("accounts:user-status", USER + "status/", "POST"): LA_ADMINS_NOT_FOUND,
    ("accounts:user-unlock", USER + "unlock/", "GET"): every(NOT_ALLOWED, locked=REDIRECT),
    ("accounts:user-unlock", USER + "unlock/", "POST"): LA_ADMINS_NOT_FOUND,
    # An LA admin resets a user's lost second factor (check your answers, then confirm).
    ("accounts:user-second-factor", USER + "second-factor/", "GET"): LA_ADMINS_NOT_FOUND,
    ("accounts:user-second-factor", USER + "second-factor/", "POST"): LA_ADMINS_NOT_FOUND,
    ("accounts:user-second-factor", USER + "second-factor/", "PUT"): every(
        NOT_ALLOWED, locked=REDIRECT
    ),
    # The link that reset gives works for whoever holds it (with the password); not this one.
    ("second-factor-setup", "/accounts/second-factor/not-a-real-token/", "GET"): every(
        410, locked=REDIRECT
    ),
    ("second-factor-setup", "/accounts/second-factor/not-a-real-token/", "POST"): every(
        410, locked=REDIRECT
    ),
    ("second-factor-setup", "/accounts/second-factor/not-a-real-token/", "PUT"): every(
        NOT_ALLOWED, locked=REDIRECT
    ),
    # Passkeys (django-otp-webauthn's JSON API, our views): registering needs a session that
    # gave its second factor (or the set-up journey's grant: tests/accounts), so a password
    # alone (mfa_pending) is refused; using one is for a signed-in user after the password.
    # An empty body is not a ceremony: 400. Signed out: 403 (JSON, no sign-in page).
    ("otp_webauthn:credential-registration-begin", PASSKEYS + "registration/begin/", "POST"): (
        every(OK, anonymous=FORBIDDEN, inactive=FORBIDDEN, mfa_pending=FORBIDDEN, locked=REDIRECT)
    ),
    ("otp_webauthn:credential-registration-begin", PASSKEYS + "registration/begin/", "GET"): (
        every(
            NOT_ALLOWED,
            anonymous=FORBIDDEN,
            inactive=FORBIDDEN,
            mfa_pending=FORBIDDEN,
            locked=REDIRECT,
        )
    ),
    (
        "otp_webauthn:credential-registration-complete",
        PASSKEYS + "registration/complete/",
        "POST",
    ): every(400, anonymous=FORBIDDEN, inactive=FORBIDDEN, mfa_pending=FORBIDDEN, locked=REDIRECT),
    (
        "otp_webauthn:credential-authentication-begin",
        PASSKEYS + "authentication/begin/",
        "POST",
    ): every(OK, anonymous=FORBIDDEN, inactive=FORBIDDEN, locked=REDIRECT),
    (
        "otp_webauthn:credential-authentication-complete",
        PASSKEYS + "authentication/complete/",
        "POST",
    ): every(400, anonymous=FORBIDDEN, inactive=FORBIDDEN, locked=REDIRECT),
    # Single sign-on (OIDC_ENABLED, off unless set): off, none of its URLs answers, for
    # anyone. On: SINGLE_SIGN_ON_MATRIX below; the sign-ins themselves in
    # tests/accounts/test_single_sign_on.py.
    ("sso", "/accounts/sso/", "GET"): every(404, locked=REDIRECT),
    ("sso", "/accounts/sso/", "POST"): every(404, locked=REDIRECT),
    ("sso-start", "/accounts/sso/1/start/", "GET"): every(404, locked=REDIRECT),
    ("sso-start", "/accounts/sso/1/start/", "POST"): every(404, locked=REDIRECT),
    ("sso-callback", "/accounts/sso/callback/", "GET"): every(404, locked=REDIRECT),
    ("sso-callback", "/accounts/sso/callback/", "POST"): every(404, locked=REDIRECT),
    ("otp_webauthn:js-i18n-catalog", PASSKEYS + "jsi18n/", "GET"): every(OK, locked=REDIRECT),
    ("otp_webauthn:js-i18n-catalog", PASSKEYS + "jsi18n/", "POST"): every(
        NOT_ALLOWED, locked=REDIRECT
    ),
    # The auditor workspace: auditors only.
    ("audit:events", "/audit/", "GET"): AUDITORS_ONLY,
    ("audit:events", "/audit/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("audit:export", "/audit/export/", "GET"): AUDITORS_ONLY,
    ("audit:export", "/audit/export/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    # Finding the child of a subject access request (the form, and its errors here).
    ("audit:child-find", "/audit/children/", "GET"): AUDITORS_ONLY,
    ("audit:child-find", "/audit/children/", "POST"): AUDITORS_ONLY,
    ("audit:child-find", "/audit/children/", "PUT"): every(NOT_ALLOWED, locked=REDIRECT),
    # A child's access report works for any well-formed public id (purged children too).
    ("audit:child-access", "/audit/children/7KQ-4M2-PXA/", "GET"): AUDITORS_ONLY,
    ("audit:child-access", "/audit/children/7KQ-4M2-PXA/", "POST"): every(
        NOT_ALLOWED, locked=REDIRECT
    ),
    # A user id with no account and no events is not found, even for auditors.
    ("audit:user-activity", "/audit/users/999999/", "GET"): every(
        REDIRECT, **{**SIGNED_IN_FORBIDDEN, "auditor": 404}
    ),
    ("audit:user-activity", "/audit/users/999999/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("audit:flags", "/audit/flags/", "GET"): AUDITORS_ONLY,
    ("audit:flags", "/audit/flags/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("audit:flag", "/audit/flags/999999/", "GET"): every(
        REDIRECT, **{**SIGNED_IN_FORBIDDEN, "auditor": 404}
    ),
    ("audit:flag", "/audit/flags/999999/", "POST"): every(
        REDIRECT, **{**SIGNED_IN_FORBIDDEN, "auditor": 404}
    ),
    ("audit:flag", "/audit/flags/999999/", "PUT"): every(NOT_ALLOWED, locked=REDIRECT),
    # Notices of views of one's children's records: everyone who may be responsible for a
    # child (practitioners, data managers, LA admins); not auditors or operators.
    ("notices", "/notices/", "GET"): every(
        REDIRECT,
        **{**SIGNED_IN_FORBIDDEN, "practitioner": OK, "data_manager": OK, "la_admin": OK},
    ),
    ("notices", "/notices/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    # Finding a child: practitioners and data managers.
    ("children:search", "/search/", "GET"): SEARCHERS_ONLY,
    ("children:search", "/search/", "POST"): SEARCHERS_ONLY,
    ("children:search", "/search/", "PUT"): every(NOT_ALLOWED, locked=REDIRECT),
    # The latest results again (none here: the form and "no results from the last ...").
    ("children:results", "/search/results/", "GET"): SEARCHERS_ONLY,
    ("children:results", "/search/results/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("children:record", RECORD, "GET"): every(REDIRECT, **SIGNED_IN_FORBIDDEN),
    ("children:record", RECORD, "POST"): every(REDIRECT, **SIGNED_IN_FORBIDDEN),
    ("children:record", RECORD, "DELETE"): every(NOT_ALLOWED, locked=REDIRECT),
    # The print version: a POST from the record page, behind the record's own gate.
    ("children:record-print", RECORD + "print/", "POST"): every(REDIRECT, **SIGNED_IN_FORBIDDEN),
    ("children:record-print", RECORD + "print/", "GET"): every(NOT_ALLOWED, locked=REDIRECT),
    # The feed API: a bearer token or nothing (a signed-in session is not a token).
    ("children:api-involvements", "/api/v1/involvements", "POST"): every(401, locked=REDIRECT),
    ("children:api-involvements", "/api/v1/involvements", "GET"): every(
        NOT_ALLOWED, locked=REDIRECT
    ),
    # Data managers' pages: the form for everyone allowed; a record of another area
    # (here, one that does not exist) is not found. LA admins shield.
    ("children:create", "/manage/children/new/", "GET"): DATA_MANAGERS_ONLY,
    ("children:create", "/manage/children/new/", "POST"): DATA_MANAGERS_ONLY,
    ("children:create", "/manage/children/new/", "PUT"): every(NOT_ALLOWED, locked=REDIRECT),
    ("children:manage", MANAGE, "GET"): DATA_MANAGERS_NOT_FOUND,
    ("children:manage", MANAGE, "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("children:involvement-add", MANAGE + "involvements/new/", "GET"): DATA_MANAGERS_NOT_FOUND,
    ("children:involvement-add", MANAGE + "involvements/new/", "POST"): DATA_MANAGERS_NOT_FOUND,
    ("children:involvement-close", MANAGE + "involvements/1/close/", "GET"): (
        DATA_MANAGERS_NOT_FOUND
    ),
    ("children:involvement-close", MANAGE + "involvements/1/close/", "POST"): (
        DATA_MANAGERS_NOT_FOUND
    ),
    ("children:involvement-lead", MANAGE + "involvements/1/lead/", "GET"): (
        DATA_MANAGERS_NOT_FOUND
    ),
    ("children:involvement-lead", MANAGE + "involvements/1/lead/", "POST"): (
        DATA_MANAGERS_NOT_FOUND
    ),
    ("children:move", MANAGE + "move/", "GET"): DATA_MANAGERS_NOT_FOUND,
    ("children:move", MANAGE + "move/", "POST"): DATA_MANAGERS_NOT_FOUND,
    ("children:rename", MANAGE + "name/", "GET"): DATA_MANAGERS_NOT_FOUND,
    ("children:rename", MANAGE + "name/", "POST"): DATA_MANAGERS_NOT_FOUND,
    ("children:shielding", "/manage/shielding/", "GET"): every(
        REDIRECT, **{**SIGNED_IN_FORBIDDEN, "la_admin": OK}
    ),
    ("children:shielding", "/manage/shielding/", "POST"): every(
        REDIRECT, **{**SIGNED_IN_FORBIDDEN, "la_admin": OK}
    ),
    # LA admins find the child whose record to restrict (the form, and its errors here).
    ("children:shielding-find", "/manage/shielding/find/", "GET"): LA_ADMINS_ONLY,
    ("children:shielding-find", "/manage/shielding/find/", "POST"): LA_ADMINS_ONLY,
    ("children:shielding-find", "/manage/shielding/find/", "PUT"): every(
        NOT_ALLOWED, locked=REDIRECT
    ),
    # Probable duplicates: held import rows and merging two records.
    ("children:duplicates", "/manage/duplicates/", "GET"): DATA_MANAGERS_ONLY,
    ("children:duplicates", "/manage/duplicates/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
    ("children:held-row", "/manage/duplicates/held/1/", "GET"): DATA_MANAGERS_NOT_FOUND,
    ("children:held-row", "/manage/duplicates/held/1/", "POST"): DATA_MANAGERS_NOT_FOUND,
    ("children:held-row", "/manage/duplicates/held/1/", "PUT"): every(NOT_ALLOWED, locked=REDIRECT),
    ("children:merge", "/manage/duplicates/merge/", "GET"): DATA_MANAGERS_ONLY,
    ("children:merge", "/manage/duplicates/merge/", "POST"): DATA_MANAGERS_ONLY,
    ("children:merge", "/manage/duplicates/merge/", "PUT"): every(NOT_ALLOWED, locked=REDIRECT),
    # A pair the register-wide check found (here, none): shielded pairs in
    # tests/children/test_probable_pairs.py.
    ("children:probable-pair", "/manage/duplicates/pairs/1/", "GET"): DATA_MANAGERS_NOT_FOUND,
    ("children:probable-pair", "/manage/duplicates/pairs/1/", "POST"): DATA_MANAGERS_NOT_FOUND,
    ("children:probable-pair", "/manage/duplicates/pairs/1/", "PUT"): every(
        NOT_ALLOWED, locked=REDIRECT
    ),
    # Data managers' lists of their own area.
    ("children:stale-involvements", "/manage/involvements/not-confirmed/", "GET"): every(
        REDIRECT, **{**SIGNED_IN_FORBIDDEN, "data_manager": OK}
    ),
    ("children:stale-involvements", "/manage/involvements/not-confirmed/", "POST"): every(
        NOT_ALLOWED, locked=REDIRECT
    ),
}

# Admin views reached only through a model's change list (add, change,
# delete, history, per-object pages) and the admin's own helpers, which share
# the admin's staff check.
ADMIN_DERIVED = (
    "_add",
    "_change",
    "_delete",
    "_history",
    "_password_change",
    "autocomplete",
    "view_on_site",
    "app_list",
)


def _all_url_names(resolver: URLResolver | None = None, namespace: str = "") -> set[str]:
    resolver = resolver or get_resolver()
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _all_url_names(pattern, inner)
        elif isinstance(pattern, URLPattern):
            names.add(f"{namespace}{pattern.name or f'<unnamed {pattern.pattern}>'}")
    return names


def test_every_url_pattern_is_in_the_matrix():
    covered = {name for name, _, _ in MATRIX}
    missing = {
        name
        for name in _all_url_names()
        if name not in covered
        and not (name.startswith("admin:") and name.endswith(ADMIN_DERIVED))
        # The admin's catch-all and object-id redirect sit behind its staff check.
        and not name.startswith("admin:<unnamed")
        and name not in {"admin:app_list", "admin:view_on_site", "admin:autocomplete"}
    }
    assert not missing, f"URL patterns missing from the authorization matrix: {sorted(missing)}"


def test_every_registered_admin_model_is_in_the_matrix():
    covered = {name for name, _, _ in MATRIX}
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        assert name in covered, f"{name} missing from the authorization matrix"


def _user_for(kind: str):
    area = make_area()
    if kind == "anonymous":
        return None
    if kind == "operator":
        return make_user(superuser=True)
    if kind in ("inactive", "locked", "mfa_pending"):
        return make_user(role=Role.PRACTITIONER, organisation=area)
    if kind == "vetting_lapsed":
        return make_user(
            role=Role.PRACTITIONER,
            organisation=area,
            vetted_on=timezone.localdate() - relativedelta(years=3, days=1),
        )
    return make_user(role=Role(kind), organisation=area)


CASES = [
    (name, path, method, role, status)
    for (name, path, method), answers in MATRIX.items()
    for role, status in answers.items()
]


@pytest.mark.parametrize(
    ("name", "path", "method", "role", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in CASES],
)
def test_authorization_matrix(client, name, path, method, role, expected):
    _sign_in_as(client, role)
    response = client.generic(method, path)
    assert response.status_code == expected, (
        f"{method} {path} as {role}: expected {expected}, got {response.status_code}"
    )
    # Signing out of the admin while signed out just goes back to the admin.
    if (
        expected == REDIRECT
        and role in ("anonymous", "inactive", "locked")
        and (name != "admin:logout")
    ):
        assert "/login/" in response["Location"]
    if expected == REDIRECT and role == "mfa_pending" and not name.startswith("admin:"):
        assert response["Location"].startswith("/accounts/two-factor/")


def _sign_in_as(client, role: str) -> None:
    user = _user_for(role)
    if user is not None:
        client.force_login(user)
    if role == "mfa_pending":
        session = client.session
        del session[DEVICE_ID_SESSION_KEY]
        session.save()
    if role == "inactive":
        user.is_active = False
        user.save(update_fields=["is_active"])
    if role == "locked":
        AccessAttempt.objects.create(
            username=user.username,
            ip_address="192.0.2.1",
            user_agent="test",
            attempt_time=timezone.now() - timedelta(minutes=1),
            failures_since_start=5,
            get_data="",
            post_data="",
            http_accept="",
            path_info="/accounts/login/",
        )


# With single sign-on on for the service (OIDC_ENABLED): its pages are for anyone, signed in
# or not (a sign-in through them replaces the session's user). An organisation with no
# provider has no start; a callback this browser did not start is refused (400).
SINGLE_SIGN_ON_MATRIX: dict[tuple[str, str, str], dict[str, int]] = {
    ("sso", "/accounts/sso/", "GET"): every(OK, locked=REDIRECT),
    ("sso", "/accounts/sso/", "POST"): every(OK, locked=REDIRECT),
    ("sso", "/accounts/sso/", "PUT"): every(NOT_ALLOWED, locked=REDIRECT),
    ("sso-start", "/accounts/sso/999999/start/", "GET"): every(404, locked=REDIRECT),
    ("sso-callback", "/accounts/sso/callback/", "GET"): every(400, locked=REDIRECT),
    ("sso-callback", "/accounts/sso/callback/", "POST"): every(NOT_ALLOWED, locked=REDIRECT),
}
SINGLE_SIGN_ON_CASES = [
    (name, path, method, role, status)
    for (name, path, method), answers in SINGLE_SIGN_ON_MATRIX.items()
    for role, status in answers.items()
]


def test_every_single_sign_on_url_is_in_its_matrix():
    names = {name for name, _, _ in MATRIX if name.startswith("sso")}
    assert names == {name for name, _, _ in SINGLE_SIGN_ON_MATRIX}


@pytest.mark.parametrize(
    ("name", "path", "method", "role", "expected"),
    SINGLE_SIGN_ON_CASES,
    ids=[f"sso-on-{c[0]}-{c[2]}-{c[3]}" for c in SINGLE_SIGN_ON_CASES],
)
def test_single_sign_on_matrix(client, settings, name, path, method, role, expected):
    settings.OIDC_ENABLED = True
    _sign_in_as(client, role)
    response = client.generic(method, path)
    assert response.status_code == expected, (
        f"{method} {path} as {role}: expected {expected}, got {response.status_code}"
    )


# --- Shielded records: every door asks the one rule (children.access) ----------------------
#
# A child who lives in the shielding authority's area and has an involvement with a second
# area, shielded by the first. Data managers of the second area look after the child but
# may not manage the record; those of a third area do not look after the child at all.

SHIELDED_ROLES = [
    "anonymous",
    "practitioner",  # of the shielding authority: may search, never manage
    "la_admin",  # of the shielding authority: restricts records, does not manage them
    "auditor",
    "operator",
    "data_manager_shielding",  # of the shielding authority: may manage it
    "data_manager_involved",  # of the other area working with the child: restricted
    "data_manager_elsewhere",  # of an area with nothing to do with the child: not found
]
RESTRICTED, NOT_FOUND = 403, 404
SHIELDED_MANAGE = {
    "anonymous": REDIRECT,
    "practitioner": FORBIDDEN,
    "la_admin": FORBIDDEN,
    "auditor": FORBIDDEN,
    "operator": FORBIDDEN,
    "data_manager_shielding": OK,
    "data_manager_involved": RESTRICTED,
    "data_manager_elsewhere": NOT_FOUND,
}
# (url name, path with {child} and {involvement}, method) -> {role: status}
SHIELDED_MATRIX: dict[tuple[str, str, str], dict[str, int]] = {
    ("children:manage", "/manage/children/{child}/", "GET"): SHIELDED_MANAGE,
    ("children:involvement-add", "/manage/children/{child}/involvements/new/", "GET"): (
        SHIELDED_MANAGE
    ),
    ("children:involvement-add", "/manage/children/{child}/involvements/new/", "POST"): (
        SHIELDED_MANAGE
    ),
    (
        "children:involvement-close",
        "/manage/children/{child}/involvements/{involvement}/close/",
        "GET",
    ): SHIELDED_MANAGE,
    (
        "children:involvement-close",
        "/manage/children/{child}/involvements/{involvement}/close/",
        "POST",
    ): SHIELDED_MANAGE,
    (
        "children:involvement-lead",
        "/manage/children/{child}/involvements/{involvement}/lead/",
        "GET",
    ): SHIELDED_MANAGE,
    (
        "children:involvement-lead",
        "/manage/children/{child}/involvements/{involvement}/lead/",
        "POST",
    ): SHIELDED_MANAGE,
    ("children:move", "/manage/children/{child}/move/", "GET"): SHIELDED_MANAGE,
    ("children:move", "/manage/children/{child}/move/", "POST"): SHIELDED_MANAGE,
    ("children:rename", "/manage/children/{child}/name/", "GET"): SHIELDED_MANAGE,
    ("children:rename", "/manage/children/{child}/name/", "POST"): SHIELDED_MANAGE,
    # Opened directly (not from the user's latest search), a record never opens.
    ("children:record", "/children/{child}/", "GET"): {
        **SHIELDED_MANAGE,
        "practitioner": FORBIDDEN,
        "data_manager_shielding": FORBIDDEN,
        "data_manager_involved": FORBIDDEN,
        "data_manager_elsewhere": FORBIDDEN,
    },
    # Nor does its print version.
    ("children:record-print", "/children/{child}/print/", "POST"): {
        **SHIELDED_MANAGE,
        "practitioner": FORBIDDEN,
        "data_manager_shielding": FORBIDDEN,
        "data_manager_involved": FORBIDDEN,
        "data_manager_elsewhere": FORBIDDEN,
    },
    # An auditor's access report works on any record, shielded or not.
    ("audit:child-access", "/audit/children/{child}/", "GET"): {
        **dict.fromkeys(SHIELDED_ROLES, FORBIDDEN),
        "anonymous": REDIRECT,
        "auditor": OK,
    },
}


def test_every_manage_url_has_shielded_rows():
    manage_names = {
        name
        for name, path, _ in MATRIX
        if path.startswith("/manage/children/") and name != "children:create"
    }
    assert manage_names <= {name for name, _, _ in SHIELDED_MATRIX}


def _shielded_world():
    from children.models import Child
    from children.services import child_shield

    shielding, involved = make_area(name="Shieldshire"), make_area(name="Involvedshire")
    child = make_child(area=shielding)
    from children.models import Service
    from children.services import InvolvementDetails, involvement_add

    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="education"),
            organisation=involved,
            started_on=timezone.localdate() - timedelta(days=30),
            practitioner_name="Sam School",
        ),
    )
    child_shield(child=child, authority=shielding, reason="Risk from a parent")
    return Child.objects.get(pk=child.pk), shielding, involved


def _shielded_user(kind: str, *, shielding, involved):
    if kind == "anonymous":
        return None
    if kind == "operator":
        return make_user(superuser=True)
    if kind.startswith("data_manager_"):
        area = {"shielding": shielding, "involved": involved}.get(
            kind.removeprefix("data_manager_")
        )
        return make_user(role=Role.DATA_MANAGER, organisation=area or make_area())
    return make_user(role=Role(kind), organisation=shielding)


SHIELDED_CASES = [
    (name, path, method, role, status)
    for (name, path, method), answers in SHIELDED_MATRIX.items()
    for role, status in answers.items()
]


@pytest.mark.parametrize(
    ("name", "path", "method", "role", "expected"),
    SHIELDED_CASES,
    ids=[f"shielded-{c[0]}-{c[2]}-{c[3]}" for c in SHIELDED_CASES],
)
def test_shielded_record_matrix(client, name, path, method, role, expected):
    from tests.audit.helpers import last_event

    child, shielding, involved = _shielded_world()
    user = _shielded_user(role, shielding=shielding, involved=involved)
    if user is not None:
        client.force_login(user)
    url = path.format(child=child.public_id, involvement=child.involvements.first().pk)
    response = client.generic(method, url)
    assert response.status_code == expected, (
        f"{method} {url} as {role}: expected {expected}, got {response.status_code}"
    )
    body = response.content.decode()
    if role != "data_manager_shielding":
        # No door shows a restricted record's name to anyone but its authority.
        assert "Amelia" not in body and "Okafor" not in body
    # A record and its print open only from the user's latest search (refused as such).
    refused_at_the_door = name.startswith("children:") and name not in (
        "children:record",
        "children:record-print",
    )
    if refused_at_the_door and expected in (RESTRICTED, NOT_FOUND) and role.startswith("data_"):
        # Every refusal is recorded, with the rule's reason.
        event = last_event()
        assert event.action == "access_denied" and event.children == [child.public_id]
        assert event.detail["why"] == ("shielded" if expected == RESTRICTED else "not_in_area")
    if refused_at_the_door and expected == RESTRICTED and role.startswith("data_"):
        assert "This record is restricted" in body and "Shieldshire" in body


# Pages that find a child by their details, searched for the shielded child: only the
# shielding authority's own LA admin (who may lift the restriction) sees the name; others
# allowed to search see a restricted row; everyone else is refused at the door.
FINDERS = {
    ("children:search", "/search/"): {
        "practitioner": (OK, False),
        "la_admin": (FORBIDDEN, False),
        "auditor": (FORBIDDEN, False),
        "data_manager_shielding": (OK, True),
        "data_manager_involved": (OK, False),
    },
    ("children:shielding-find", "/manage/shielding/find/"): {
        "practitioner": (FORBIDDEN, False),
        "la_admin": (OK, True),
        "auditor": (FORBIDDEN, False),
        "data_manager_shielding": (FORBIDDEN, False),
        "data_manager_involved": (FORBIDDEN, False),
    },
    ("audit:child-find", "/audit/children/"): {
        "practitioner": (FORBIDDEN, False),
        "la_admin": (FORBIDDEN, False),
        "auditor": (OK, False),
        "data_manager_shielding": (FORBIDDEN, False),
        "data_manager_involved": (FORBIDDEN, False),
    },
}
FINDER_CASES = [
    (name, path, role, status, named)
    for (name, path), answers in FINDERS.items()
    for role, (status, named) in answers.items()
]


@pytest.mark.parametrize(
    ("name", "path", "role", "expected", "named"),
    FINDER_CASES,
    ids=[f"finder-{c[0]}-{c[2]}" for c in FINDER_CASES],
)
def test_finders_never_name_a_shielded_child(client, name, path, role, expected, named):
    child, shielding, involved = _shielded_world()
    client.force_login(_shielded_user(role, shielding=shielding, involved=involved))
    born = child.date_of_birth
    response = client.post(
        path,
        {
            "family_name": "Okafor",
            "given_name": "Amelia",
            "dob_day": str(born.day),
            "dob_month": str(born.month),
            "dob_year": str(born.year),
        },
    )
    assert response.status_code == expected, (name, role, response.status_code)
    body = response.content.decode()
    if expected == OK:
        results = body[body.index('id="results"') :]
        assert ("Amelia" in results) is named, (name, role)
        if not named:
            assert "Restricted record" in results and "Shieldshire" in results
    else:
        assert "Amelia" not in body and "Okafor" not in body
