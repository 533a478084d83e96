"""ts and $D_ conversions: every accepted input form, time zones, and the refusals."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zaplite_clevertap.convert import as_date_value, is_date_string, to_epoch_seconds

MAY_8 = 1778198400  # 2026-05-08T00:00:00Z; 21:20 that day is EVENING
EVENING = MAY_8 + 21 * 3600 + 20 * 60

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(4900, 12, 31), timezones=offsets
)


def expected(moment: datetime) -> int:
    """The epoch second an aware datetime lies in, computed independently of the module."""
    return calendar.timegm(moment.utctimetuple())


@pytest.mark.parametrize(
    "value",
    [
        "2026-05-08T21:20:00.000+0000",
        "2026-05-08T21:20:00Z",
        "2026-05-08T21:20:00z",
        "2026-05-08T21:20:00",
        "2026-05-08 21:20:00",
        "2026-05-08T21:20",
        "2026-05-08T21:20:00.999999999Z",
        "2026-05-09T02:50:00+05:30",
        "2026-05-09T02:50:00.000+0530",
        "2026-05-08T16:20:00-05:00",
        "2026-05-08T16:20:00.000-0500",
        "2026-05-08T23:20:00+02",
        EVENING,
        EVENING * 1000,
        EVENING * 1000 + 999,
        float(EVENING) + 0.75,
        EVENING * 1000.0,
        str(EVENING),
        str(EVENING * 1000),
        f"{EVENING}.25",
        f" {EVENING} ",
        f"$D_{EVENING}",
        datetime(2026, 5, 8, 21, 20, tzinfo=UTC),
        datetime(2026, 5, 8, 21, 20),
        datetime(2026, 5, 8, 14, 20, tzinfo=timezone(timedelta(hours=-7))),
    ],
)
def test_every_accepted_form_gives_the_same_epoch_second(value: object) -> None:
    assert to_epoch_seconds(value) == EVENING


@pytest.mark.parametrize("value", ["2026-05-08", date(2026, 5, 8), " 2026-05-08 "])
def test_a_date_is_midnight_utc(value: object) -> None:
    assert to_epoch_seconds(value) == MAY_8


@pytest.mark.parametrize(
    "value",
    [
        "",
        "tomorrow",
        "2026-13-01",
        "2026-02-30",
        "2026-05-08T25:00:00Z",
        "08/05/2026",
        True,
        None,
        float("nan"),
        float("inf"),
        "1e",
        [],
        {},
    ],
)
def test_anything_else_is_refused_with_a_reason(value: object) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        to_epoch_seconds(value)


def test_date_strings_are_recognised_but_numbers_and_text_are_not() -> None:
    assert is_date_string("2026-05-08")
    assert is_date_string("2026-05-08T21:20:00.000+0000")
    assert not is_date_string("1778275200")
    assert not is_date_string("+14155551234")
    assert not is_date_string("2026-05-08 is the day")
    assert not is_date_string("2026-02-30")
    assert as_date_value("2026-05-08") == f"$D_{MAY_8}"


@given(aware)
def test_any_aware_datetime_round_trips_to_its_epoch_second(moment: datetime) -> None:
    assert to_epoch_seconds(moment) == expected(moment)
    assert to_epoch_seconds(moment.isoformat()) == expected(moment)
    assert as_date_value(moment) == f"$D_{expected(moment)}"


@given(aware)
def test_salesforce_form_round_trips_at_millisecond_precision(moment: datetime) -> None:
    offset = moment.strftime("%z")  # +hhmm, as Salesforce writes it
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + offset
    assert to_epoch_seconds(text) == expected(moment)


@given(st.integers(min_value=1, max_value=10**11 - 1))
def test_epoch_seconds_as_int_string_and_milliseconds_agree(seconds: int) -> None:
    assert to_epoch_seconds(seconds) == seconds
    assert to_epoch_seconds(str(seconds)) == seconds
    if seconds * 1000 >= 10**11:
        assert to_epoch_seconds(seconds * 1000) == seconds
        assert to_epoch_seconds(str(seconds * 1000 + 999)) == seconds


@given(aware)
def test_naive_strings_are_read_as_utc(moment: datetime) -> None:
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    assert to_epoch_seconds(naive.isoformat()) == expected(moment)


whole_seconds = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
).map(lambda moment: moment.replace(microsecond=0))


@given(whole_seconds)
def test_whole_seconds_with_an_offset_are_exact_across_all_years(moment: datetime) -> None:
    """The usual Salesforce value (``.000``, an offset) takes a shortcut; it must stay exact."""
    offset = moment.strftime("%z")
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.000") + offset
    if moment.year < 1000:  # strftime does not pad years below 1000 everywhere
        text = f"{moment.year:04d}" + text[text.index("-") :]
    assert to_epoch_seconds(text) == expected(moment)
    assert to_epoch_seconds(moment.isoformat()) == expected(moment)
