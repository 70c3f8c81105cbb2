"""Reads of the failed-posts dashboard (no Salesforce I/O), a module per page:

- summary: the "Failed posts" page — causes, the chart, counts, connection problems;
- delivery: one delivery's page — payload, answers, explanation, what it did in Salesforce;
- resend: what a resend leaves alone and why, filters and bulk jobs in words.
"""

from integrations.dashboard.selectors.delivery import (
    AnswerRow,
    PayloadRow,
    StepRow,
    delivery_answer_rows,
    delivery_explanation,
    delivery_payload_rows,
    delivery_person_rows,
)
from integrations.dashboard.selectors.resend import (
    JobOutcome,
    filter_description,
    job_outcome,
    resend_skipped,
    resend_skipped_reasons,
)
from integrations.dashboard.selectors.summary import (
    CHART_DAYS,
    Cause,
    Day,
    Summary,
    attempt_causes,
    attempts_for,
    connection_problem,
    dashboard_summary,
    deliveries_for,
    failure_causes,
    failures_per_day,
    field_sources,
)
from integrations.dashboard.selectors.write_backs import (
    OperationRow,
    write_back_note,
    write_back_operation_rows,
    write_backs_of,
)

__all__ = [
    "CHART_DAYS",
    "AnswerRow",
    "Cause",
    "Day",
    "JobOutcome",
    "OperationRow",
    "PayloadRow",
    "StepRow",
    "Summary",
    "attempt_causes",
    "attempts_for",
    "connection_problem",
    "dashboard_summary",
    "deliveries_for",
    "delivery_answer_rows",
    "delivery_explanation",
    "delivery_payload_rows",
    "delivery_person_rows",
    "failure_causes",
    "failures_per_day",
    "field_sources",
    "filter_description",
    "job_outcome",
    "resend_skipped",
    "resend_skipped_reasons",
    "write_back_note",
    "write_back_operation_rows",
    "write_backs_of",
]
