"""Japan's fiscal year, the registry's calendar: FY N runs from 1 April N to 31 March N+1. No Django here (the
allocation engine reads it too)."""

from datetime import date


def fiscal_year_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_start(fy: int) -> date:
    return date(fy, 4, 1)


def fiscal_year_end(fy: int) -> date:
    return date(fy + 1, 3, 31)
