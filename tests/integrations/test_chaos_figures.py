"""The chaos runner's own arithmetic (integrations/management/chaos/figures.py): fast,
no processes. A scenario row says "ok" only when these say so."""

from integrations.management.chaos import figures


def result(**changes) -> figures.Result:
    values = dict(
        scenario="worker-sigkill", attempted=300, accepted=300, answers={"302": 150, "201": 150},
        in_salesforce=300, duplicates=0, lost=0, non_final=0, failed=0, settle_seconds=31.5,
    )  # fmt: skip
    return figures.Result(**{**values, **changes})


def test_answers_are_counted_most_common_first_with_no_answer_named_by_its_exception():
    counts = figures.answers_count([302, 201, "503", 503, "ConnectionError", 302, 302])
    assert counts == {"302": 3, "503": 2, "201": 1, "ConnectionError": 1}
    assert list(counts) == ["302", "503", "201", "ConnectionError"]


def test_only_sent_failed_and_dismissed_are_final():
    statuses = ["sent", "failed", "dismissed", "pending", "sending", "retrying", "held"]
    assert figures.non_final(statuses) == 4
    assert figures.non_final([]) == 0


def test_a_clean_run_is_ok():
    assert result().ok


def test_a_lost_duplicated_or_unsettled_booking_fails_the_row():
    assert not result(lost=1).ok
    assert not result(duplicates=1).ok
    assert not result(non_final=2).ok
    assert not result(settle_seconds=None).ok


def test_a_500_fails_the_row_but_a_503_with_retry_after_does_not():
    assert not result(answers={"302": 10, "500": 1}).ok
    assert result(answers={"302": 10, "503": 4}).ok
    assert result(answers={"302": 10, "503": 4}).server_errors == 0
    assert result(answers={"502": 1}).server_errors == 1


def test_a_scenario_check_that_did_not_hold_fails_the_row():
    assert result(checks={"claims back ≤ 45s": True}).ok
    assert not result(checks={"claims back ≤ 45s": True, "none failed": False}).ok


def test_the_table_shows_other_answers_settle_time_and_verdict():
    row = figures.line(result(answers={"302": 140, "201": 140, "503": 20}, lost=2))
    assert "503 x20" in row
    assert "31.5s" in row
    assert row.rstrip().endswith("NO")
    assert "NEVER" in figures.line(result(settle_seconds=None))
    assert len(figures.header().split()) >= len(figures.COLUMNS)


def test_markdown_has_a_row_per_scenario_and_their_notes():
    text = figures.markdown([
        result(notes=["claims back 31.0s after the kill"], checks={"claims back ≤ 45s": True}),
        result(scenario="503-storm", failed=0),
    ])  # fmt: skip
    lines = text.splitlines()
    assert lines[0].startswith("| scenario |")
    assert sum(1 for line in lines if line.startswith("| worker-sigkill")) == 1
    assert sum(1 for line in lines if line.startswith("| 503-storm")) == 1
    assert "- worker-sigkill: claims back 31.0s after the kill; claims back ≤ 45s: yes" in lines
