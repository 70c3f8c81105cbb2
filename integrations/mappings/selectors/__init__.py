"""Reads of the mapping admin (nothing here calls Salesforce: every describe comes from the
cache). Writes, including fetching a schema that is not cached yet, are in
integrations.mappings.services.

- context: the cached describe as form choices, unused URL keys, stored problems;
- preview: the record (and, for people, the meeting) a booking would produce.
"""

from integrations.mappings.selectors.context import (
    RECENT_BOOKINGS,
    MappingContext,
    WriteBackContext,
    connection_for_page,
    field_label,
    mapping_context,
    recent_url_keys,
    schema_cached,
    stored_problems,
    target_error_count,
    target_mapping_context,
    target_unused_url_keys,
    target_warnings,
    targets_needing_attention,
    write_back_context,
)
from integrations.mappings.selectors.preview import (
    PersonPreview,
    Preview,
    page_latest_booking,
    person_preview,
    problem_as_dict,
    sample_answers,
    sample_booking,
    spec_sources,
    target_preview,
)

__all__ = [
    "RECENT_BOOKINGS",
    "MappingContext",
    "PersonPreview",
    "Preview",
    "WriteBackContext",
    "connection_for_page",
    "field_label",
    "mapping_context",
    "page_latest_booking",
    "person_preview",
    "problem_as_dict",
    "recent_url_keys",
    "sample_answers",
    "sample_booking",
    "schema_cached",
    "spec_sources",
    "stored_problems",
    "target_error_count",
    "target_mapping_context",
    "target_preview",
    "target_unused_url_keys",
    "target_warnings",
    "targets_needing_attention",
    "write_back_context",
]
