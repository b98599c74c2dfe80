"""Seeds a demo: synthetic areas, partner agencies, one user of every role per area, and
children with involvements (children.demo).

Never real data. Deterministic for a given --seed; running it again reuses what
is there and only tops up missing children, so `make run` can call it on every start.
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from faker import Faker

from accounts.capabilities import vetting_of
from accounts.models import Organisation, Role, User
from accounts.services import (
    local_authorities_load,
    partner_agency_get_or_create,
    user_create,
    vetting_record,
)
from children.demo import DEFAULT_CHILDREN, PARTNER_AGENCIES, SeedResult, children_seed
from children.models import Involvement

# Children of each demo area whose lead professional is the area's demo practitioner.
DEMO_LEADS = 5
DEMO_PASSWORD = "demo-password-for-synthetic-data"  # noqa: S105 (published: demo only)

# Three areas a child might move between: two London boroughs and a county.
DEMO_AREAS = {
    "E09000033": "westminster",
    "E09000007": "camden",
    "E10000016": "kent",
}


class Command(BaseCommand):
    help = (
        "Create synthetic demo areas, users and children (demo mode only). Prints the demo logins."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=2010)
        parser.add_argument(
            "--children",
            type=int,
            default=DEFAULT_CHILDREN,
            help=(
                f"How many synthetic children there should be (default {DEFAULT_CHILDREN}, in "
                "the three demo areas; beyond that, across every local authority). Only the "
                "missing ones are created."
            ),
        )
        parser.add_argument(
            "--allow-outside-demo",
            action="store_true",
            help="Seed even though SIGNPOSTING_DEMO is off (never on a live service).",
        )

    def handle(self, *args, **options) -> None:
        if not (settings.DEMO or settings.DEBUG or options["allow_outside_demo"]):
            raise CommandError(
                "seed_demo creates users with a published password: it runs only with "
                "SIGNPOSTING_DEMO=true (or --allow-outside-demo on a throwaway database)."
            )
        if options["children"] < 0:
            raise CommandError("--children must be 0 or more")
        fake = Faker("en_GB")
        fake.seed_instance(options["seed"])
        local_authorities_load()
        logins = []
        for code, slug in DEMO_AREAS.items():
            area = Organisation.objects.get(ons_code=code)
            if not area.safeguarding_contact:
                area.safeguarding_contact = (
                    f"{area.name} children's services front door, 020 7946 0{len(slug):03d}"
                )
                area.save(update_fields=["safeguarding_contact"])
            for template in PARTNER_AGENCIES.values():
                partner_agency_get_or_create(
                    name=template.format(area=area.name), local_authority=area
                )
            for role in Role:
                email = f"{role.value.replace('_', '-')}@{slug}.demo.example"
                user = User.objects.filter(username=email).first()
                if user is None:
                    user = user_create(
                        email=email,
                        role=role,
                        organisation=area,
                        password=DEMO_PASSWORD,
                        given_name=fake.first_name(),
                        family_name=fake.last_name(),
                        job_title=role.label,
                    )
                if not vetting_of(user).allows_access:
                    today = timezone.localdate()
                    vetting_record(
                        user=user,
                        by=None,
                        dbs_checked_on=today,
                        dbs_certificate="000000000000",
                        training_completed_on=today,
                        agreement_accepted_on=today,
                    )
                logins.append((user.username, role.label, area.name))
        self._reported = 0
        result = children_seed(
            count=options["children"],
            seed=options["seed"],
            demo_area_codes=tuple(DEMO_AREAS),
            progress=self._progress if options["children"] >= 100_000 else None,
        )
        self._summary(result)
        self._demo_leads()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Demo logins (all synthetic):"))
        for username, role_label, area_name in logins:
            self.stdout.write(f"  {username:<40} {role_label:<24} {area_name}")
        self.stdout.write(f"Password for every demo login: {DEMO_PASSWORD}")

    def _demo_leads(self) -> None:
        """Makes each demo area's practitioner the lead professional of a few of its children,
        so that their notices (views by others of their children's records) can be tried."""
        for slug in DEMO_AREAS.values():
            practitioner = User.objects.get(username=f"practitioner@{slug}.demo.example")
            leads = Involvement.objects.filter(
                lead_professional=True,
                ended_on__isnull=True,
                organisation=practitioner.organisation,
            ).order_by("pk")[:DEMO_LEADS]
            Involvement.objects.filter(pk__in=list(leads.values_list("pk", flat=True))).update(
                practitioner_name=practitioner.get_full_name(),
                practitioner_email=practitioner.username,
            )

    def _progress(self, done: int, total: int) -> None:
        if done == total or done // 100_000 != self._reported:
            self._reported = done // 100_000
            self.stdout.write(f"  {done:,} of {total:,} children written")

    def _summary(self, result: SeedResult) -> None:
        if not result.created:
            self.stdout.write(f"Synthetic children: {result.existing:,} already there, none added.")
            return
        self.stdout.write(
            f"Synthetic children: added {result.created:,} (now {result.total:,}) with "
            f"{result.involvements:,} involvements and {result.names:,} names; "
            f"{result.moved:,} moved between areas, {result.shielded:,} shielded; "
            f"in {timedelta(seconds=round(result.seconds))}."
        )
