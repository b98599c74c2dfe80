"""Which models keep a change history in django-auditlog, and what of them is left out.

Registered from AuditConfig.ready(). object_repr is str(instance): models that
describe a child must not put a name in __str__.
"""

from auditlog.registry import auditlog


def register_models() -> None:
    from accounts.models import Organisation, SingleSignOn, User, Vetting
    from children.models import Address, Child, FeedToken, Involvement, Name

    auditlog.register(User, exclude_fields=["password", "last_login", "notices_read_at"])
    auditlog.register(Organisation)
    auditlog.register(Vetting, exclude_fields=["updated_at"])
    # An organisation's identity provider: who turned it on, or began trusting its claim.
    auditlog.register(SingleSignOn, exclude_fields=["updated_at"])
    # The register's history says what changed and who changed it; identifying
    # values are masked, as the history is readable by platform operators.
    auditlog.register(Child, mask_fields=["nhs_number"], exclude_fields=["updated_at"])
    # The search keys repeat the name, the date of birth and the postcode: left out.
    auditlog.register(
        Name,
        mask_fields=["given_names", "family_name"],
        exclude_fields=["family_key", "given_key", "family_sound", "date_of_birth"],
    )
    auditlog.register(Address, mask_fields=["line_1", "postcode"], exclude_fields=["outward_code"])
    auditlog.register(Involvement)
    # Who was given a feed token and when it was revoked; never the token's hash.
    auditlog.register(FeedToken, exclude_fields=["token_sha256", "last_used_at"])
