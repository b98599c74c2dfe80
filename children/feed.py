"""The feed API's keys: issued to a source system for one local authority, kept hashed."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation
from children.imports import SOURCE_NAME
from children.models import FeedToken

TOKEN_PREFIX = "spf_"  # noqa: S105 (a marker that starts every token, not a secret)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def feed_token_issue(*, source: str, local_authority: Organisation) -> tuple[FeedToken, str]:
    """A new token for `source` in `local_authority`'s area: (the record, the token itself,
    which is never stored and cannot be shown again)."""
    if not SOURCE_NAME.fullmatch(source):
        raise ValueError("The source name must be 1 to 100 letters, digits, '.', '_' or '-'")
    if not local_authority.is_local_authority:
        raise ValueError("Feed tokens are issued for a local authority's area")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = FeedToken.objects.create(
        source=source,
        local_authority=local_authority,
        token_sha256=_digest(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
    )
    return record, token


def feed_token_revoke(*, token: FeedToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def feed_token_for(authorization: str) -> FeedToken | None:
    """The active token an `Authorization: Bearer ...` header presents, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    found = (
        FeedToken.objects.select_related("local_authority")
        .filter(token_sha256=_digest(token), revoked_at__isnull=True)
        .first()
    )
    if found is not None:
        FeedToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found
