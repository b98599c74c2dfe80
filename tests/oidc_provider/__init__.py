"""A real OpenID Connect provider for the single sign-on tests: a small Django project of its
own (django-oauth-toolkit with OpenID Connect on), run in a subprocess on a free port
(tests.oidc_provider.fixture). Never part of the service."""
