"""Malformed scenarios fail before anything starts, with the line of the mistake."""

from __future__ import annotations

import pytest

from simulate.scenario import ScenarioError, parse_scenario

HEAD = """\
catalog: seats
start: 2026-09-03T09:00:00Z
end: 2026-11-20T00:00:00Z
workspace:
  id: acme
  members:
    - {user: alice, role: admin}
    - {user: carol, role: member}
steps:
  - at: 2026-09-03T09:00:00Z
    assign_seat: {user: alice, type: pro}
"""  # 11 lines: a broken step appended below starts on line 12


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    return caught.value


@pytest.mark.parametrize(
    ("step", "line", "words"),
    [
        (
            "  - at: 2026-09-04T00:00:00Z\n    upgrade_everything: {}\n",
            13,
            "unknown verb 'upgrade_everything'",
        ),
        ("  - at: 2026-09-02T00:00:00Z\n    cancel: {}\n", 12, "before start"),
        ("  - at: 2026-12-01T00:00:00Z\n    cancel: {}\n", 12, "after end"),
        ("  - at: 2026-09-03T08:00:00Z\n    cancel: {}\n", 12, "before start"),
        (
            "  - at: 2026-09-04T00:00:00Z\n    assign_seat: {user: mallory, type: pro}\n",
            12,
            "unknown user 'mallory'",
        ),
        (
            "  - at: 2026-09-04T00:00:00Z\n    set_role: {user: dave, role: admin}\n",
            12,
            "unknown user 'dave'",
        ),
        ("  - at: 2026-09-31T00:00:00Z\n    cancel: {}\n", 12, "steps[1].at"),
        ("  - at: next tuesday\n    cancel: {}\n", 12, "steps[1].at"),
        (
            "  - at: 2026-09-04T00:00:00Z\n    assign_seat: {user: carol, type: pro, cycle: weekly}\n",
            13,
            "cycle",
        ),
        ("  - at: 2026-09-04T00:00:00Z\n    cancel: {}\n    reactivate:\n", 12, "exactly one verb"),
        (
            "  - at: 2026-09-04T00:00:00Z\n    usage:\n      events:\n        - {kind: asset_teleport}\n",
            15,
            "unknown usage event kind 'asset_teleport'",
        ),
        (
            "  - at: 2026-09-04T00:00:00Z\n    usage:\n      events:\n        - {kind: serverless_minutes}\n",
            15,
            "minutes",
        ),
    ],
)
def test_a_bad_step_names_its_line(step: str, line: int, words: str) -> None:
    error = _error(HEAD + step)
    assert error.line == line, error
    assert words in str(error)
    assert str(error).startswith(f"s.yaml:{line}: ")


def test_steps_out_of_time_order() -> None:
    later = "  - at: 2026-10-01T00:00:00Z\n    cancel: {}\n  - at: 2026-09-20T00:00:00Z\n    reactivate:\n"
    error = _error(HEAD + later)
    assert (error.line, "out of time order" in error.message) == (14, True)


def test_a_user_added_earlier_is_known() -> None:
    steps = (
        "  - at: 2026-09-04T00:00:00Z\n    add_member: {user: dave}\n"
        "  - at: 2026-09-05T00:00:00Z\n    assign_seat: {user: dave, type: pro}\n"
    )
    loaded = parse_scenario(HEAD + steps)
    assert [s.verb for s in loaded.scenario.steps] == ["assign_seat", "add_member", "assign_seat"]
    assert loaded.step_lines == [10, 12, 14]


def test_unknown_catalog() -> None:
    error = _error(HEAD.replace("catalog: seats", "catalog: platinum"))
    assert (error.line, "unknown catalog 'platinum'" in error.message) == (1, True)


def test_bad_start_date_and_missing_fields() -> None:
    assert _error(HEAD.replace("start: 2026-09-03T09:00:00Z", "start: 2026-13-03")).line == 2
    missing_id = _error(HEAD.replace("  id: acme\n", ""))
    assert missing_id.line == 5
    assert "workspace.id" in missing_id.message
    assert _error(HEAD.replace("end: 2026-11-20T00:00:00Z", "end: 2026-09-01T00:00:00Z")).line == 3


def test_not_yaml() -> None:
    error = _error(HEAD + "  - at: [unclosed\n")
    assert error.line >= 12
    assert "not valid YAML" in error.message
