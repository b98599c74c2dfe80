"""Single sign-on against a real OpenID Connect provider (tests/oidc_provider: django-oauth-toolkit
in a process of its own). The service asks it over HTTP for its discovery document, the tokens
and its signing keys; a requests session signed in at the provider plays the browser there.

Who the provider's people are and what their ID tokens say: tests/oidc_provider/people.py."""

import base64
import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.checks import check_single_sign_on_secrets
from accounts.models import Role, SingleSignOn, SingleSignOnDevice, User
from accounts.single_sign_on import id_token_problem, mfa_claimed
from audit.models import Action
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_user
from tests.oidc_provider.people import CLIENT_ID, CLIENT_SECRET, PEOPLE

pytestmark = pytest.mark.django_db

SECRET_VARIABLE = "OIDC_CLIENT_SECRET_WESTMINSTER"


@pytest.fixture
def sso_on(settings, monkeypatch):
    settings.OIDC_ENABLED = True
    monkeypatch.setenv(SECRET_VARIABLE, CLIENT_SECRET)


@pytest.fixture
def westminster(identity_provider, sso_on):
    """Westminster, whose provider is the test identity provider (its multi-factor claim not
    trusted, as by default)."""
    area = make_area(name="Westminster")
    SingleSignOn.objects.create(
        organisation=area,
        display_name="Westminster City Council account",
        issuer=identity_provider.issuer,
        client_id=CLIENT_ID,
        client_secret_variable=SECRET_VARIABLE,
        allowed_domains="westminster.example",
        enabled=True,
    )
    return area


def trusting(area) -> None:
    SingleSignOn.objects.filter(organisation=area).update(trust_mfa_claim=True)


def practitioner(area, email="ada@westminster.example", **kwargs) -> User:
    return make_user(role=Role.PRACTITIONER, organisation=area, email=email, **kwargs)


def start(client: Client, email: str, **extra) -> str:
    """The work e-mail address on the single sign-on page, then the start of the provider's
    sign-in: returns the provider's authorisation address the browser is sent to."""
    response = client.post("/accounts/sso/", {"email": email, **extra})
    assert response.status_code == 200
    response = client.get(continue_link(response))
    assert response.status_code == 302
    return response["Location"]


def continue_link(response) -> str:
    """Where the page naming the organisation's sign-in continues to (a link: forms may lead
    only to this service)."""
    found = re.search(r'href="(/accounts/sso/\d+/start/[^"]*)"', response.content.decode())
    assert found, response.content.decode()[:2000]
    return html.unescape(found[1])


def sign_in(client: Client, provider, person: str, *, email: str = "", **extra):
    """The whole single sign-on as `person` at the provider; the callback's answer."""
    email = email or PEOPLE[person].get("email") or f"{person}@westminster.example"
    authorize = start(client, email.lower(), **extra)
    assert authorize.startswith(provider.issuer + "/authorize/")
    return client.get(provider.authorize(provider.signed_in(person), authorize))


def code_for(user: User) -> str:
    device = TOTPDevice.objects.get(user=user)
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()


def with_app(user: User) -> User:
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


def sign_ins() -> list:
    return list(events().filter(action=Action.SIGN_IN))


def failures() -> list:
    return list(events().filter(action=Action.SIGN_IN_FAILED))


# --- Signing in ---------------------------------------------------------------------------------


def test_a_vetted_practitioner_signs_in_then_gives_the_services_second_factor(
    identity_provider, westminster
):
    user = with_app(practitioner(westminster))
    client = Client()
    response = sign_in(client, identity_provider, "ada")

    # The provider's multi-factor claim is not trusted here: our own second factor comes next.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/?" + urlencode({"next": "/search/"})
    assert client.session[SESSION_KEY] == str(user.pk)
    assert DEVICE_ID_SESSION_KEY not in client.session
    assert client.get("/search/")["Location"].startswith("/accounts/two-factor/")

    response = client.post(response["Location"], {"code": code_for(user)})
    assert response.status_code == 302 and response["Location"] == "/search/"
    assert client.get("/search/").status_code == 200

    by_sso, by_code = sign_ins()
    assert by_sso.actor_id == user.pk and by_sso.actor_organisation == "Westminster"
    assert by_sso.detail == {
        "method": "single_sign_on",
        "provider": "Westminster City Council account",
        "provider_mfa_claimed": True,
        "provider_mfa_trusted": False,
    }
    assert by_code.detail == {"second_factor": "totp"}
    # As after a password, the session key changed at sign-in.
    user.refresh_from_db()
    assert user.last_login is not None


def test_a_trusted_multi_factor_claim_stands_for_the_second_factor(identity_provider, westminster):
    trusting(westminster)
    user = practitioner(westminster)
    client = Client()
    response = sign_in(client, identity_provider, "ada")

    assert response.status_code == 302 and response["Location"] == "/search/"
    assert client.get("/search/").status_code == 200
    device = SingleSignOnDevice.objects.get(user=user)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert not device.verify_token("123456")
    (event,) = sign_ins()
    assert event.detail["second_factor"] == "identity_provider"
    assert event.detail["provider_mfa_claimed"] is True
    assert event.detail["provider_mfa_trusted"] is True


def test_an_untrusted_claim_still_needs_the_services_second_factor(identity_provider, westminster):
    practitioner(westminster)
    client = Client()
    response = sign_in(client, identity_provider, "ada")
    assert response["Location"].startswith("/accounts/two-factor/")
    assert client.get("/search/")["Location"].startswith("/accounts/two-factor/")
    assert not SingleSignOnDevice.objects.exists()


def test_a_trusting_organisation_still_asks_when_the_token_has_no_multi_factor_claim(
    identity_provider, westminster
):
    trusting(westminster)
    practitioner(westminster, email="bob@westminster.example")
    client = Client()
    response = sign_in(client, identity_provider, "bob")
    assert response["Location"].startswith("/accounts/two-factor/")
    assert client.get("/search/")["Location"].startswith("/accounts/two-factor/")
    (event,) = sign_ins()
    assert event.detail["provider_mfa_claimed"] is False and "second_factor" not in event.detail


def test_where_only_a_passkey_counts_the_providers_claim_does_not(
    identity_provider, westminster, settings
):
    settings.REQUIRE_PASSKEY = True
    trusting(westminster)
    practitioner(westminster)
    client = Client()
    response = sign_in(client, identity_provider, "ada")
    assert response["Location"].startswith("/accounts/two-factor/")
    assert client.get("/search/")["Location"].startswith("/accounts/two-factor/")


def test_without_two_factor_sign_in_the_provider_alone_signs_in(
    identity_provider, westminster, settings
):
    settings.REQUIRE_MFA = False
    practitioner(westminster, email="bob@westminster.example")
    client = Client()
    response = sign_in(client, identity_provider, "bob")
    assert response["Location"] == "/search/"
    assert client.get("/search/").status_code == 200


def test_the_address_is_matched_whatever_its_case(identity_provider, westminster, settings):
    settings.REQUIRE_MFA = False
    user = practitioner(westminster, email="dee@westminster.example")
    client = Client()
    # The provider says Dee@Westminster.EXAMPLE, verified as the text "true".
    response = sign_in(client, identity_provider, "dee")
    assert response["Location"] == "/search/"
    assert client.session[SESSION_KEY] == str(user.pk)


def test_an_unvetted_user_signs_in_but_may_do_nothing(identity_provider, westminster):
    trusting(westminster)
    practitioner(westminster, vetted=False)
    client = Client()
    response = sign_in(client, identity_provider, "ada")
    # Signed in (the provider vouched, the second factor stood in)...
    assert response.status_code == 302 and response["Location"] == "/"
    # ...but vetting still decides: no capability, and the page says why.
    response = client.get("/search/")
    assert response.status_code == 403
    assert "vetting" in response.content.decode().lower()


def test_the_next_page_is_kept_and_an_outside_one_refused(identity_provider, westminster, settings):
    settings.REQUIRE_MFA = False
    practitioner(westminster)
    client = Client()
    response = sign_in(client, identity_provider, "ada", next="/notices/")
    assert response["Location"] == "/notices/"

    client = Client()
    response = sign_in(client, identity_provider, "ada", next="https://evil.example/")
    assert response["Location"] == "/search/"


def test_the_typed_address_is_passed_to_the_provider_as_a_hint(identity_provider, westminster):
    authorize = start(Client(), "ada@westminster.example")
    query = parse_qs(urlsplit(authorize).query)
    assert query["login_hint"] == ["ada@westminster.example"]
    # The request carries a state, a nonce and a PKCE challenge (S256), and asks for e-mail.
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] and query["nonce"] and query["code_challenge"]
    assert query["scope"] == ["openid email profile"]
    assert query["redirect_uri"] == ["http://testserver/accounts/sso/callback/"]


# --- Refused ------------------------------------------------------------------------------------


def _refused_as(response, status: int, text: str) -> None:
    body = response.content.decode()
    assert response.status_code == status, body[:2000]
    assert text in body
    assert "Traceback" not in body


def test_an_unverified_address_is_refused_and_counted(identity_provider, westminster):
    practitioner(westminster, email="una@westminster.example")
    client = Client()
    response = sign_in(client, identity_provider, "una")
    _refused_as(response, 403, "Your email address is not verified")
    assert SESSION_KEY not in client.session
    (event,) = failures()
    assert event.detail["reason"] == "email_not_verified"
    assert event.detail["method"] == "single_sign_on"
    assert event.detail["target_username"] == "una@westminster.example"
    # Counted as a wrong password would be, towards the username's and the address's lockout.
    attempt = AccessAttempt.objects.get(username="una@westminster.example")
    assert attempt.failures_since_start == 1
    assert "code=" in attempt.get_data and CLIENT_SECRET not in attempt.get_data
    assert "********************" in attempt.get_data  # the code and state are masked


def test_an_address_at_a_domain_the_organisation_does_not_allow_is_refused(
    identity_provider, westminster
):
    make_user(role=Role.PRACTITIONER, organisation=westminster, email="eve@elsewhere.example")
    client = Client()
    # Typed a Westminster address; the provider signed in someone at elsewhere.example.
    response = sign_in(client, identity_provider, "eve", email="someone@westminster.example")
    _refused_as(response, 403, "does not use email addresses ending <strong>@elsewhere.example")
    assert SESSION_KEY not in client.session
    assert failures()[0].detail["reason"] == "domain_not_allowed"


def test_a_user_of_another_organisation_is_refused(identity_provider, westminster):
    practitioner(make_area(name="Camden"))
    client = Client()
    response = sign_in(client, identity_provider, "ada")
    _refused_as(response, 403, "Your account belongs to another organisation")
    assert SESSION_KEY not in client.session
    assert failures()[0].detail["reason"] == "other_organisation"


def test_an_unknown_address_is_refused_and_no_user_is_created(identity_provider, westminster):
    users = User.objects.count()
    client = Client()
    response = sign_in(client, identity_provider, "ada")
    _refused_as(response, 403, "You do not have an account")
    assert User.objects.count() == users
    (event,) = failures()
    assert event.detail["reason"] == "no_account"
    assert event.detail["target_account_exists"] is False
    assert AccessAttempt.objects.filter(username="ada@westminster.example").exists()


def test_a_suspended_user_is_refused(identity_provider, westminster):
    practitioner(westminster, is_active=False)
    client = Client()
    response = sign_in(client, identity_provider, "ada")
    _refused_as(response, 403, "Your account is suspended")
    assert SESSION_KEY not in client.session
    assert failures()[0].detail["reason"] == "suspended"


def test_a_platform_operator_cannot_sign_in_by_a_councils_provider(identity_provider, westminster):
    make_user(superuser=True, email="ada@westminster.example")
    response = sign_in(Client(), identity_provider, "ada")
    _refused_as(response, 403, "You do not have an account")


def test_a_token_without_an_address_is_refused_without_counting_anyone(
    identity_provider, westminster
):
    response = sign_in(Client(), identity_provider, "nia")
    _refused_as(response, 403, "Your email address was not given")
    assert failures()[0].detail["reason"] == "no_email"
    assert not AccessAttempt.objects.exists()


def test_a_locked_out_user_cannot_sign_in_by_single_sign_on(identity_provider, westminster):
    trusting(westminster)
    practitioner(westminster)
    AccessAttempt.objects.create(
        username="ada@westminster.example",
        ip_address="192.0.2.1",
        user_agent="another browser",
        attempt_time=timezone.now() - timedelta(minutes=1),
        failures_since_start=5,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )
    client = Client()
    response = sign_in(client, identity_provider, "ada")
    _refused_as(response, 429, "Sign in is locked")
    assert SESSION_KEY not in client.session
    assert failures()[0].detail["reason"] == "locked"


def test_five_refusals_lock_the_account_as_five_wrong_passwords_do(identity_provider, westminster):
    user = practitioner(westminster, email="una@westminster.example")
    for _ in range(5):
        sign_in(Client(), identity_provider, "una")
    assert events().filter(action=Action.LOCKOUT).exists()
    # Now even the right password is refused.
    response = Client().post(
        "/accounts/login/", {"username": user.username, "password": "a-long-test-password-42"}
    )
    assert response.status_code == 429


# --- The protocol: state, code, nonce -----------------------------------------------------------


def test_a_tampered_state_is_refused(identity_provider, westminster):
    trusting(westminster)
    practitioner(westminster)
    client = Client()
    callback = identity_provider.authorize(
        identity_provider.signed_in("ada"), start(client, "ada@westminster.example")
    )
    query = parse_qs(urlsplit(callback).query)
    forged = urlencode({"code": query["code"][0], "state": query["state"][0] + "x"})
    response = client.get(f"/accounts/sso/callback/?{forged}")
    _refused_as(response, 400, "Signing in did not finish")
    assert SESSION_KEY not in client.session
    assert failures()[0].detail["reason"] == "state"
    assert not AccessAttempt.objects.exists()


def test_a_callback_from_another_browser_is_refused(identity_provider, westminster):
    trusting(westminster)
    practitioner(westminster)
    callback = identity_provider.authorize(
        identity_provider.signed_in("ada"), start(Client(), "ada@westminster.example")
    )
    # Someone else's browser (or an attacker's link) replays the provider's answer.
    other = Client()
    response = other.get(callback)
    _refused_as(response, 400, "Signing in did not finish")
    assert SESSION_KEY not in other.session


def test_a_state_works_once(identity_provider, westminster):
    trusting(westminster)
    practitioner(westminster)
    client = Client()
    callback = identity_provider.authorize(
        identity_provider.signed_in("ada"), start(client, "ada@westminster.example")
    )
    assert client.get(callback)["Location"] == "/search/"
    client.post("/accounts/logout/")
    response = client.get(callback)
    _refused_as(response, 400, "Signing in did not finish")
    assert SESSION_KEY not in client.session


def test_a_used_code_is_refused_by_the_provider(identity_provider, westminster):
    trusting(westminster)
    practitioner(westminster)
    client = Client()
    browser = identity_provider.signed_in("ada")
    first = identity_provider.authorize(browser, start(client, "ada@westminster.example"))
    assert client.get(first)["Location"] == "/search/"
    client.post("/accounts/logout/")
    # A new sign-in's state, with the first sign-in's code.
    second = identity_provider.authorize(browser, start(client, "ada@westminster.example"))
    used = urlencode(
        {
            "code": parse_qs(urlsplit(first).query)["code"][0],
            "state": parse_qs(urlsplit(second).query)["state"][0],
        }
    )
    response = client.get(f"/accounts/sso/callback/?{used}")
    _refused_as(response, 400, "Signing in did not finish")
    assert SESSION_KEY not in client.session
    assert failures()[-1].detail["reason"] == "token"


def test_an_id_token_with_another_nonce_is_refused(identity_provider, westminster):
    trusting(westminster)
    practitioner(westminster)
    client = Client()
    callback = identity_provider.authorize(
        identity_provider.signed_in("ada"), start(client, "ada@westminster.example")
    )
    session = client.session
    state = parse_qs(urlsplit(callback).query)["state"][0]
    session["oidc_states"][state]["nonce"] = "not-the-nonce-the-provider-was-given"
    session.save()
    response = client.get(callback)
    _refused_as(response, 400, "Signing in did not finish")
    assert SESSION_KEY not in client.session
    assert failures()[0].detail["reason"] == "token"


def test_the_providers_own_refusal_is_shown_and_recorded(identity_provider, westminster):
    client = Client()
    authorize = start(client, "ada@westminster.example")
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    response = client.get(
        "/accounts/sso/callback/?" + urlencode({"error": "access_denied", "state": state})
    )
    _refused_as(response, 403, "You were not signed in")
    assert failures()[0].detail["reason"] == "provider"
    # The state is spent.
    assert state not in client.session["oidc_states"]


def test_an_id_tokens_issuer_and_audience_are_checked():
    good = {"iss": "https://idp.example", "aud": CLIENT_ID, "exp": 2, "sub": "1"}
    assert id_token_problem(good, issuer="https://idp.example", client_id=CLIENT_ID) is None
    for claims in (
        {**good, "iss": "https://another.example"},
        {**good, "aud": "another-client"},
        {**good, "aud": [CLIENT_ID, "another-client"]},  # several audiences, no azp
        {**good, "sub": ""},
        {key: value for key, value in good.items() if key != "exp"},
    ):
        assert id_token_problem(claims, issuer="https://idp.example", client_id=CLIENT_ID)
    several = {**good, "aud": [CLIENT_ID, "another"], "azp": CLIENT_ID}
    assert id_token_problem(several, issuer="https://idp.example", client_id=CLIENT_ID) is None


# --- Switched off, not set up, not working ------------------------------------------------------


def test_switched_off_for_the_service_no_single_sign_on_url_answers(westminster, settings):
    settings.OIDC_ENABLED = False
    client = Client()
    for method, path in (
        ("get", "/accounts/sso/"),
        ("post", "/accounts/sso/"),
        ("get", f"/accounts/sso/{westminster.pk}/start/"),
        ("get", "/accounts/sso/callback/?code=x&state=y"),
    ):
        assert getattr(client, method)(path).status_code == 404, path
    assert "council account" not in client.get("/accounts/login/").content.decode()


def test_the_sign_in_page_offers_it_only_when_an_organisation_uses_it(westminster):
    assert "Sign in with your council account" in Client().get("/accounts/login/").content.decode()
    SingleSignOn.objects.update(enabled=False)
    assert "council account" not in Client().get("/accounts/login/").content.decode()


def test_an_organisation_without_a_provider_has_no_start(westminster):
    client = Client()
    assert client.get(f"/accounts/sso/{make_area().pk}/start/").status_code == 404
    SingleSignOn.objects.update(enabled=False)
    assert client.get(f"/accounts/sso/{westminster.pk}/start/").status_code == 404


def test_an_address_no_organisation_signs_in_for_is_told_to_use_the_password(westminster):
    response = Client().post("/accounts/sso/", {"email": "someone@elsewhere.example"})
    _refused_as(response, 200, "does not sign in to this service with its own account")
    assert "govuk-error-summary" in response.content.decode()


def test_a_domain_two_organisations_share_asks_which(identity_provider, westminster):
    camden = make_area(name="Camden")
    SingleSignOn.objects.create(
        organisation=camden,
        display_name="Camden account",
        issuer=identity_provider.issuer,
        client_id=CLIENT_ID,
        client_secret_variable=SECRET_VARIABLE,
        allowed_domains="westminster.example",
        enabled=True,
    )
    client = Client()
    response = client.post("/accounts/sso/", {"email": "ada@westminster.example"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Which organisation do you work for?" in body and "Camden" in body
    response = client.post(
        "/accounts/sso/", {"email": "ada@westminster.example", "organisation": str(camden.pk)}
    )
    assert "Sign in with your Camden account" in response.content.decode()
    assert continue_link(response) == f"/accounts/sso/{camden.pk}/start/"
    response = client.post(
        "/accounts/sso/", {"email": "ada@westminster.example", "organisation": "999999"}
    )
    assert "Select the organisation you work for" in response.content.decode()


def test_a_provider_that_cannot_be_reached_says_so(sso_on):
    area = make_area()
    SingleSignOn.objects.create(
        organisation=area,
        display_name="Nowhere account",
        issuer="http://127.0.0.1:9/o",
        client_id="x",
        client_secret_variable=SECRET_VARIABLE,
        allowed_domains="nowhere.example",
        enabled=True,
    )
    response = Client().get(f"/accounts/sso/{area.pk}/start/")
    _refused_as(response, 503, "Signing in with your council account is not working")
    assert not failures()


def test_a_missing_client_secret_stops_the_start_and_the_check_warns(
    identity_provider, westminster, monkeypatch
):
    monkeypatch.delenv(SECRET_VARIABLE)
    response = Client().get(f"/accounts/sso/{westminster.pk}/start/")
    _refused_as(response, 503, "Signing in with your council account is not working")
    (warning,) = check_single_sign_on_secrets(databases=["default"])
    assert warning.id == "accounts.W001" and SECRET_VARIABLE in warning.msg
    monkeypatch.setenv(SECRET_VARIABLE, CLIENT_SECRET)
    assert check_single_sign_on_secrets(databases=["default"]) == []
    # Without a database to ask (check --deploy), the check says nothing.
    assert check_single_sign_on_secrets(databases=None) == []


def test_the_discovery_document_is_cached(identity_provider, westminster, monkeypatch):
    import requests

    start(Client(), "ada@westminster.example")
    calls = []
    real_get = requests.get
    monkeypatch.setattr(requests, "get", lambda *a, **k: calls.append(a) or real_get(*a, **k))
    start(Client(), "ada@westminster.example")
    assert calls == []


# --- What operators may configure ----------------------------------------------------------------


def _provider(**fields) -> SingleSignOn:
    values = {
        "organisation": make_area(),
        "display_name": "Test account",
        "issuer": "https://login.microsoftonline.com/0000/v2.0",
        "client_id": "client",
        "client_secret_variable": "OIDC_CLIENT_SECRET_TEST",
        "allowed_domains": "Test.gov.uk\n@second.gov.uk\n\n",
    }
    return SingleSignOn(**{**values, **fields})


def test_a_provider_is_https_its_domains_are_tidied_and_its_secret_is_an_oidc_variable():
    provider = _provider()
    provider.full_clean()
    assert provider.domains == ["test.gov.uk", "second.gov.uk"]
    for fields, field in (
        ({"issuer": "http://idp.example/"}, "issuer"),
        ({"allowed_domains": "not a domain"}, "allowed_domains"),
        ({"allowed_domains": ""}, "allowed_domains"),
        ({"client_secret_variable": "SECRET_KEY"}, "client_secret_variable"),
        ({"mfa_values": " , "}, "mfa_values"),
    ):
        with pytest.raises(ValidationError) as refused:
            _provider(**fields).full_clean()
        assert field in refused.value.message_dict, fields
    # Plain http only on this host (a provider beside the service, as in these tests).
    _provider(issuer="http://127.0.0.1:8001/o").full_clean()


def test_the_audit_trail_names_single_sign_on_sessions_until_sign_out(
    identity_provider, westminster
):
    trusting(westminster)
    user = practitioner(westminster)
    client = Client()
    sign_in(client, identity_provider, "ada")
    client.post("/accounts/logout/")
    assert last_event().action == Action.SIGN_OUT and last_event().actor_id == user.pk
    # Signed out here; the provider's own session is the provider's (no RP-initiated logout).
    assert SESSION_KEY not in client.session


def test_the_multi_factor_claim_may_be_a_list_or_a_text():
    provider = _provider(mfa_claim="acr", mfa_values="urn:council:mfa, phr")
    assert mfa_claimed(provider=provider, claims={"acr": "phr"})
    assert mfa_claimed(provider=provider, claims={"acr": ["pwd", "urn:council:mfa"]})
    assert not mfa_claimed(provider=provider, claims={"acr": "pwd"})
    assert not mfa_claimed(provider=provider, claims={"amr": ["mfa"]})
    assert not mfa_claimed(provider=provider, claims={"acr": {"value": "phr"}})


def test_operators_set_up_a_provider_in_the_console(client):
    area = make_area(name="Kent")
    client.force_login(make_user(superuser=True))
    assert client.get("/django-admin/accounts/singlesignon/add/").status_code == 200
    response = client.post(
        "/django-admin/accounts/singlesignon/add/",
        {
            "organisation": area.pk,
            "display_name": "Kent County Council account",
            "enabled": "on",
            "issuer": "https://login.microsoftonline.com/0000/v2.0",
            "client_id": "kent",
            "client_secret_variable": "OIDC_CLIENT_SECRET_KENT",
            "allowed_domains": "KENT.gov.uk",
            "email_verified_claim": "xms_edov",
            "mfa_claim": "amr",
            "mfa_values": "mfa",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    provider = SingleSignOn.objects.get(organisation=area)
    assert provider.domains == ["kent.gov.uk"] and not provider.trust_mfa_claim
    listing = client.get("/django-admin/accounts/singlesignon/").content.decode()
    assert "Kent County Council account" in listing
