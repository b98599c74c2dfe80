"""Who can sign in at the test provider, with the claims its ID tokens carry, and the client
the service is registered as. Shared by the provider (a separate process) and the tests."""

PASSWORD = "provider-password-for-tests-only"
CLIENT_ID = "signposting-test-client"
CLIENT_SECRET = "signposting-test-client-secret-0123456789"
# The Django test client's host, and any port on loopback (RFC 8252's rule for loopback
# addresses, which django-oauth-toolkit follows; the browser tests' live server).
REDIRECT_URIS = [
    "http://testserver/accounts/sso/callback/",
    "http://localhost/accounts/sso/callback/",
]

# username at the provider -> the claims of their ID tokens
PEOPLE: dict[str, dict] = {
    # Verified, and signed in with more than one factor.
    "ada": {"email": "ada@westminster.example", "email_verified": True, "amr": ["pwd", "mfa"]},
    # Verified, a password only.
    "bob": {"email": "bob@westminster.example", "email_verified": True, "amr": ["pwd"]},
    # The address is not verified at the provider.
    "una": {"email": "una@westminster.example", "email_verified": False, "amr": ["pwd", "mfa"]},
    # An address at a domain the organisation does not allow.
    "eve": {"email": "eve@elsewhere.example", "email_verified": True, "amr": ["pwd", "mfa"]},
    # The provider writes the address in capitals (usernames here are lower case).
    "dee": {"email": "Dee@Westminster.EXAMPLE", "email_verified": "true", "amr": ["pwd"]},
    # No e-mail address at all.
    "nia": {"email_verified": True, "amr": ["pwd"]},
}
