"""Whether a user's vetting is current: the rules of lapse, as pure functions of the record.

A DBS check older than VETTING_DBS_MONTHS or training older than
VETTING_TRAINING_MONTHS lapses access by itself; so does a record with any of
the three parts missing. VETTING_DUE_DAYS ahead of a lapse, admins see "re-vetting due".
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dateutil.relativedelta import relativedelta
from django.conf import settings


class VettingState(StrEnum):
    CURRENT = "current"
    DUE = "due"  # current, but lapses within VETTING_DUE_DAYS
    LAPSED = "lapsed"
    NOT_VETTED = "not_vetted"  # a part was never recorded


LABELS = {
    VettingState.CURRENT: "Vetted",
    VettingState.DUE: "Re-vetting due",
    VettingState.LAPSED: "Vetting lapsed",
    VettingState.NOT_VETTED: "Not vetted",
}


@dataclass(frozen=True)
class VettingStatus:
    state: VettingState
    lapses_on: date | None  # the first day without access, when every part is recorded
    problems: tuple[str, ...] = ()  # what is missing or out of date, in words

    @property
    def allows_access(self) -> bool:
        return self.state in (VettingState.CURRENT, VettingState.DUE)

    @property
    def label(self) -> str:
        return LABELS[self.state]


def dbs_lapses_on(checked_on: date) -> date:
    return checked_on + relativedelta(months=settings.VETTING_DBS_MONTHS)


def training_lapses_on(completed_on: date) -> date:
    return completed_on + relativedelta(months=settings.VETTING_TRAINING_MONTHS)


def vetting_status(vetting, *, today: date) -> VettingStatus:
    """The state of a Vetting record (or None: never vetted) on `today`."""
    missing = []
    if vetting is None or vetting.dbs_checked_on is None:
        missing.append("No enhanced DBS check is recorded")
    if vetting is None or vetting.training_completed_on is None:
        missing.append("No training is recorded")
    if vetting is None or vetting.agreement_accepted_on is None:
        missing.append("The user agreement has not been accepted")
    if missing:
        return VettingStatus(state=VettingState.NOT_VETTED, lapses_on=None, problems=tuple(missing))
    dbs_ends = dbs_lapses_on(vetting.dbs_checked_on)
    training_ends = training_lapses_on(vetting.training_completed_on)
    lapses_on = min(dbs_ends, training_ends)
    problems = []
    if dbs_ends <= today:
        problems.append(
            f"The DBS check of {vetting.dbs_checked_on:%-d %B %Y} is more than "
            f"{_years(settings.VETTING_DBS_MONTHS)} old"
        )
    if training_ends <= today:
        problems.append(
            f"The training of {vetting.training_completed_on:%-d %B %Y} is more than "
            f"{_years(settings.VETTING_TRAINING_MONTHS)} old"
        )
    if problems:
        return VettingStatus(
            state=VettingState.LAPSED, lapses_on=lapses_on, problems=tuple(problems)
        )
    if (lapses_on - today).days <= settings.VETTING_DUE_DAYS:
        return VettingStatus(state=VettingState.DUE, lapses_on=lapses_on)
    return VettingStatus(state=VettingState.CURRENT, lapses_on=lapses_on)


def _years(months: int) -> str:
    if months % 12:
        return f"{months} months"
    years = months // 12
    return "1 year" if years == 1 else f"{years} years"
