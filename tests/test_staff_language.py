"""Staff read plain language (issue 14): no rule numbers, HTTP verbs or API paths in any
template staff or guests see."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
JARGON = re.compile(r"rule [0-9]|\bPATCH\b|POST /|/sobjects/", re.IGNORECASE)


def test_no_template_speaks_of_rule_numbers_http_verbs_or_paths():
    found = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.suffix in (".html", ".txt")
        for match in JARGON.finditer(path.read_text())
    ]
    assert found == []
