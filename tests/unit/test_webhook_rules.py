"""The webhook rules every side shares: which endpoint input is accepted, the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.webhooks import DeliveryPolicy, check_event_types, check_url, next_attempt_at, retry_delay

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "url", ["https://example.com/hooks", "http://127.0.0.1:8080/x?y=1", "https://[::1]:9/h"]
)
def test_http_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "http"),
        ("example.com/hooks", "http"),
        ("https://", "host"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://user@example.com/", "credentials"),
        ("http://example.com:99999/", "URL"),
        ("http://exa mple.com/", "URL"),
        ("https://example.com/" + "x" * 2000, "2000"),
    ],
)
def test_other_urls_are_refused_saying_why(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_url(url)


def test_event_types_are_known_and_deduplicated() -> None:
    assert check_event_types(["invoice.paid", "member.added", "invoice.paid"]) == [
        "invoice.paid",
        "member.added",
    ]
    assert check_event_types([]) == []
    with pytest.raises(ValueError, match=r"'invoice\.pad'"):
        check_event_types(["invoice.paid", "invoice.pad"])


def test_the_default_schedule_doubles_to_an_hour_for_three_days() -> None:
    policy = DeliveryPolicy()
    assert [retry_delay(n, policy) for n in range(1, 13)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        320,
        640,
        1280,
        2560,
        3600,
        3600,
    ]
    dues = []
    attempt = 1
    while (due := next_attempt_at(T0, attempt, policy)) is not None:
        dues.append(due)
        attempt += 1
    assert dues[:3] == [T0 + timedelta(seconds=s) for s in (5, 15, 35)]
    assert len(dues) + 1 == 81  # attempts in all
    assert dues[-1] - T0 == timedelta(days=2, hours=23, minutes=25, seconds=15)
    assert dues == sorted(dues)


def test_a_short_horizon_gives_up_sooner() -> None:
    policy = DeliveryPolicy(initial_backoff_s=1, max_backoff_s=2, horizon_s=4)
    assert next_attempt_at(T0, 1, policy) == T0 + timedelta(seconds=1)
    assert next_attempt_at(T0, 2, policy) == T0 + timedelta(seconds=3)
    assert next_attempt_at(T0, 3, policy) is None  # 1 + 2 + 2 = 5 s > 4 s
