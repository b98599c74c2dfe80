"""Issues, lists and revokes the feed API's tokens (one source, one local authority each)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from children.feed import feed_token_issue, feed_token_revoke
from children.models import FeedToken


class Command(BaseCommand):
    help = (
        "Feed API tokens: `issue SOURCE --organisation ONS_CODE` prints a new token once; "
        "`list`; `revoke PREFIX`."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        issue = actions.add_parser("issue", help="issue a token for a source system")
        issue.add_argument("source")
        issue.add_argument("--organisation", required=True, help="the local authority's ONS code")
        actions.add_parser("list", help="list tokens (never the tokens themselves)")
        revoke = actions.add_parser("revoke", help="revoke a token by the prefix `list` shows")
        revoke.add_argument("prefix")

    def handle(self, *args, action: str, **options):
        if action == "issue":
            area = Organisation.objects.filter(
                ons_code=options["organisation"].strip().upper(),
                kind=Organisation.Kind.LOCAL_AUTHORITY,
            ).first()
            if area is None:
                raise CommandError(f"No local authority with ONS code {options['organisation']}")
            try:
                record, token = feed_token_issue(source=options["source"], local_authority=area)
            except ValueError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                f"Feed token for source {record.source} in {area.name} ({area.ons_code}).\n"
                "Give it to the system's administrator now: it is not stored and cannot be "
                f"shown again.\n\n{token}\n"
            )
        elif action == "list":
            for record in FeedToken.objects.select_related("local_authority"):
                state = f"revoked {record.revoked_at:%Y-%m-%d}" if record.revoked_at else "active"
                used = f"{record.last_used_at:%Y-%m-%d %H:%M}" if record.last_used_at else "never"
                self.stdout.write(
                    f"{record.prefix}  {record.source}  {record.local_authority.ons_code}  "
                    f"{state}  last used {used}"
                )
        else:
            matches = list(FeedToken.objects.filter(prefix=options["prefix"]))
            if len(matches) != 1:
                raise CommandError(f"No single token with prefix {options['prefix']}")
            feed_token_revoke(token=matches[0])
            self.stdout.write(f"Revoked {matches[0]}.")
