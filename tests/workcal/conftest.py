"""Fixtures for the calendar tests: a clean process-wide cache around every test."""
from __future__ import annotations

import datetime as dt

import pytest

from yingshang.workcal.calendar import reset_cache

D = dt.date.fromisoformat


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    # The cache is process-wide; a notice entered in a rolled-back test must not leak into the next.
    reset_cache()
    yield
    reset_cache()


def example_2027_holidays():
    """The holiday ranges of the shipped EXAMPLE 2027 file (not an official notice)."""
    return [(D("2027-01-01"), D("2027-01-03"), "元旦"), (D("2027-02-05"), D("2027-02-13"), "春节"),
            (D("2027-04-03"), D("2027-04-05"), "清明节"), (D("2027-05-01"), D("2027-05-05"), "劳动节"),
            (D("2027-06-09"), D("2027-06-09"), "端午节"), (D("2027-09-15"), D("2027-09-15"), "中秋节"),
            (D("2027-10-01"), D("2027-10-07"), "国庆节")]


def example_2027_workdays():
    return [(D("2027-01-31"), "春节调休"), (D("2027-02-20"), "春节调休"), (D("2027-05-08"), "劳动节调休"),
            (D("2027-09-26"), "国庆节调休"), (D("2027-10-09"), "国庆节调休")]
