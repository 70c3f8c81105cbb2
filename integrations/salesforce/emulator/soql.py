"""A small SOQL subset: what LeadSync and its tests send.

    SELECT f1, f2 FROM Obj [WHERE f = 'v' [AND f != 12 ...]] [ORDER BY f [ASC|DESC]] [LIMIT n]

Literals: quoted strings (with \\' escapes), numbers, true/false, null, bare date
literals. Errors carry Salesforce's text: the query, a caret, the row/column, the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .responses import rest_error
from .schema import Schema

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op>!=|=|,|\(|\))|(?P<word>[^\s,=!()']+))"
)
_STRING_ESCAPES = {"\\'": "'", '\\"': '"', "\\\\": "\\", "\\n": "\n", "\\t": "\t"}
_NO_COLUMN = (
    "No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
    "the describe call for the appropriate names."
)
_NO_TYPE = (
    "sObject type '{obj}' is not supported. If you are attempting to use a custom object, be "
    "sure to append the '__c' after the entity name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


@dataclass
class Token:
    kind: str
    text: str
    pos: int


@dataclass
class Query:
    obj: str
    fields: list[str]
    where: list[tuple[str, str, Any]] = field(default_factory=list)
    order_by: tuple[str, bool] | None = None
    limit: int | None = None


def _error(code: str, soql: str, pos: int, reason: str):
    # Salesforce echoes the query, marks the column with a caret, then gives the reason.
    message = f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{reason}"
    return rest_error(400, code, message)


def _tokenize(soql: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(soql):
        match = _TOKEN_RE.match(soql, pos)
        if not match or match.end() == pos:
            if soql[pos:].strip():
                raise _error("MALFORMED_QUERY", soql, pos, f"unexpected token: {soql[pos]}")
            break
        kind = match.lastgroup or "word"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, soql: str, schema: Schema) -> None:
        self.soql, self.schema = soql, schema
        self.tokens = _tokenize(soql)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise _error("MALFORMED_QUERY", self.soql, len(self.soql), "unexpected end of query")
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token.kind == "word" and token.text.upper() == word:
            self.index += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            token = self.take()
            raise _error("MALFORMED_QUERY", self.soql, token.pos, f"unexpected token: {token.text}")

    def parse(self) -> Query:
        self.expect("SELECT")
        names = [self.take()]
        while self.peek() and self.peek().text == ",":
            self.take()
            names.append(self.take())
        self.expect("FROM")
        obj_token = self.take()
        obj = self.schema.object_name(obj_token.text)
        if obj is None:
            reason = _NO_TYPE.format(obj=obj_token.text)
            raise _error("INVALID_TYPE", self.soql, obj_token.pos, reason)
        query = Query(obj, [self.field(obj, token) for token in names])
        if self.keyword("WHERE"):
            query.where.append(self.condition(obj))
            while self.keyword("AND"):
                query.where.append(self.condition(obj))
        if self.keyword("ORDER"):
            self.expect("BY")
            name = self.field(obj, self.take())
            descending = self.keyword("DESC")
            if not descending:
                self.keyword("ASC")
            query.order_by = (name, descending)
        if self.keyword("LIMIT"):
            token = self.take()
            if not token.text.isdigit():
                raise _error(
                    "MALFORMED_QUERY", self.soql, token.pos, f"unexpected token: {token.text}"
                )
            query.limit = int(token.text)
        if self.peek() is not None:
            token = self.take()
            raise _error("MALFORMED_QUERY", self.soql, token.pos, f"unexpected token: {token.text}")
        return query

    def field(self, obj: str, token: Token) -> str:
        described = self.schema.field(obj, token.text) if token.kind == "word" else None
        if described is None:
            reason = _NO_COLUMN.format(name=token.text, obj=obj)
            raise _error("INVALID_FIELD", self.soql, token.pos, reason)
        return described["name"]

    def condition(self, obj: str) -> tuple[str, str, Any]:
        name = self.field(obj, self.take())
        op = self.take()
        if op.text not in ("=", "!="):
            raise _error("MALFORMED_QUERY", self.soql, op.pos, f"unexpected token: {op.text}")
        return name, op.text, self.literal(self.take())

    def literal(self, token: Token) -> Any:
        if token.kind == "str":
            body = token.text[1:-1]
            return re.sub(r"\\.", lambda m: _STRING_ESCAPES.get(m.group(0), m.group(0)[1]), body)
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        try:
            return float(token.text)
        except ValueError:
            return token.text  # date literals such as 2024-05-01 compare as text


def parse(soql: str, schema: Schema) -> Query:
    """Parse a query; raises RestError 400 MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE."""
    if not soql or not soql.strip():
        raise rest_error(400, "MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(soql.strip(), schema).parse()


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()  # SOQL string equality ignores case
    if isinstance(right, float) and isinstance(left, (int, float)) and not isinstance(left, bool):
        return float(left) == right
    return left == right


def _sort_key(value: Any) -> tuple[bool, Any]:
    if isinstance(value, str):
        value = value.casefold()
    return (value is not None, value if value is not None else 0)


def execute(query: Query, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Filter, sort and limit raw records (field dicts keyed by canonical names)."""
    rows = [
        record
        for record in records
        if all(_same(record.get(name), value) == (op == "=") for name, op, value in query.where)
    ]
    if query.order_by:
        name, descending = query.order_by
        # Salesforce sorts nulls first ascending, last descending.
        rows.sort(key=lambda r: _sort_key(r.get(name)), reverse=descending)
    return rows[: query.limit] if query.limit is not None else rows
