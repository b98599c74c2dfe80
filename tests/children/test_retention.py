"""The retention rule: 12 months after the last involvement, never past 18 plus 12 months."""

from datetime import date

import pytest

from children.retention import retention_ends_on

BORN = date(2010, 6, 15)  # 18 on 2028-06-15


def test_twelve_months_after_the_last_involvement_ends():
    periods = [(date(2020, 1, 1), date(2021, 3, 31)), (date(2022, 1, 1), date(2023, 5, 10))]
    assert retention_ends_on(date_of_birth=BORN, involvement_periods=periods) == date(2024, 5, 10)


def test_an_open_involvement_keeps_the_record_until_18_plus_12_months():
    periods = [(date(2020, 1, 1), date(2021, 3, 31)), (date(2022, 1, 1), None)]
    assert retention_ends_on(date_of_birth=BORN, involvement_periods=periods) == date(2029, 6, 15)


def test_never_past_the_18th_birthday_plus_12_months():
    periods = [(date(2027, 1, 1), date(2028, 12, 31))]
    assert retention_ends_on(date_of_birth=BORN, involvement_periods=periods) == date(2029, 6, 15)


def test_no_involvement_means_due_at_once():
    assert retention_ends_on(date_of_birth=BORN, involvement_periods=[]) == date.min


def test_the_period_is_a_setting(settings):
    settings.RETENTION_MONTHS = 24
    periods = [(date(2020, 1, 1), date(2021, 3, 31))]
    assert retention_ends_on(date_of_birth=BORN, involvement_periods=periods) == date(2023, 3, 31)


@pytest.mark.parametrize(("born", "expected"), [(date(2008, 2, 29), date(2027, 2, 28))])
def test_leap_day_birthdays(born, expected):
    assert retention_ends_on(
        date_of_birth=born, involvement_periods=[(date(2020, 1, 1), None)]
    ) == (expected)
