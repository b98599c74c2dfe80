"""Dates of birth as they are mistyped: the variants a search block looks on."""

import contextlib
import functools
from datetime import date


@functools.lru_cache(maxsize=256)
def dob_variants(dob: date) -> tuple[frozenset[date], frozenset[date]]:
    """(close, slipped): the date and its day/month swap; the dates one digit away."""
    close = {dob}
    if dob.day <= 12 and dob.day != dob.month:
        with contextlib.suppress(ValueError):
            close.add(dob.replace(month=dob.day, day=dob.month))
    slipped: set[date] = set()
    text = dob.strftime("%Y%m%d")
    for position in range(8):
        for digit in "0123456789":
            if digit == text[position]:
                continue
            candidate = text[:position] + digit + text[position + 1 :]
            try:
                slipped.add(date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:])))
            except ValueError:
                continue
    return frozenset(close), frozenset(slipped - close)


@functools.lru_cache(maxsize=256)
def mistyped_dates(dob: date, *, oldest: date, newest: date) -> frozenset[date]:
    """The dates a record may hold when this one was typed, other than the date and its
    day/month swap: one digit different, two neighbouring digits of the day, month or year
    transposed, the year one or two out (day and month right); only those from `oldest` to
    `newest` (the span of birthdays the register can hold)."""
    close, slipped = dob_variants(dob)
    found = set(slipped)
    boxes = [f"{dob.day:02d}", f"{dob.month:02d}", f"{dob.year:04d}"]
    for box, text in enumerate(boxes):
        for i in range(len(text) - 1):
            if text[i] == text[i + 1]:
                continue
            swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
            typed = [*boxes[:box], swapped, *boxes[box + 1 :]]
            with contextlib.suppress(ValueError):
                found.add(date(int(typed[2]), int(typed[1]), int(typed[0])))
    for years in (-2, -1, 1, 2):
        with contextlib.suppress(ValueError):
            found.add(dob.replace(year=dob.year + years))
    found -= close
    return frozenset(day for day in found if oldest <= day <= newest)


@functools.lru_cache(maxsize=256)
def near_dates(dob: date) -> frozenset[date]:
    """Every date a record may hold that agrees with this one better than "same year"
    (children.matching.comparisons.DateComparer): the date, its day/month swap, and the
    mistyped dates, whatever their year."""
    close, _ = dob_variants(dob)
    return close | mistyped_dates(dob, oldest=date.min, newest=date.max)
