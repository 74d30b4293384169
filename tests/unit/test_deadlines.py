"""`billing.deadlines.Deadline` sorts exactly as the string keys it replaced, so coinciding
deadlines of recorded runs are handled in the order their histories saw."""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

from hypothesis import given
from hypothesis import strategies as st

from billing.deadlines import Deadline, DeadlineKind
from tests.unit.billing_helpers import t

_ORDER = {
    "finalize": 0,
    "trial_end": 1,
    "trial_notice": 1,
    "overdue": 2,
    "stock": 3,
    "delete": 4,
    "prepaid": 4,
    "period_end": 5,
}
_WITH_REF = {"overdue", "stock", "delete", "prepaid"}


def _legacy(d: Deadline) -> tuple[object, int, str]:
    return (d.at, d.order, f"{d.kind}:{d.ref}" if d.kind in _WITH_REF else d.kind)


deadline = st.builds(
    lambda hours, kind, ref: Deadline(
        t(2026, 9, 1) + timedelta(hours=hours), _ORDER[kind], kind, ref if kind in _WITH_REF else ""
    ),
    st.integers(0, 2),
    st.sampled_from(get_args(DeadlineKind)),
    st.one_of(st.integers(0, 30).map(str), st.text("ab-0", max_size=4)),
)


@given(st.lists(deadline, max_size=12))
def test_deadlines_sort_as_their_old_keys(found: list[Deadline]) -> None:
    assert sorted(found) == sorted(found, key=_legacy)
