"""SOQL parser: the subset LeadSync, its tests and common clients send.

    SELECT COUNT() | field[, field ...] FROM Obj
      [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST][, ...]]
      [LIMIT n] [OFFSET n]

A field is a name or a relationship path (``Owner.Name``, ``Account.Owner.Email``).
Conditions: ``=  !=  <>  <  <=  >  >=``, ``[NOT] IN (...)``, ``[NOT] LIKE``, ``AND``,
``OR``, ``NOT``, parentheses. Mixing AND and OR without parentheses is refused, as SOQL
refuses it. Values: strings, numbers, true/false, null, date (``2024-05-01``) and
datetime (``2024-05-01T10:00:00Z``) literals, and date literals such as ``TODAY``,
``LAST_N_DAYS:7`` (soql_dates.py).

Anything else (sub-queries, GROUP BY, aggregate functions other than ``COUNT()``,
``TYPEOF``, ``INCLUDES``, ``WITH``, ``FOR UPDATE``...) fails loudly with MALFORMED_QUERY
naming the construct, never silently. Errors carry Salesforce's text: the query, a caret,
the row/column, the reason (SOQL and SOSL Reference, "SOQL SELECT Syntax").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import soql_dates
from .responses import RestError, rest_error

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op>!=|<>|<=|>=|=|<|>|,|\(|\))"
    r"|(?P<word>[^\s,=!<>()']+))"
)
_STRING_ESCAPES = {"\\'": "'", '\\"': '"', "\\\\": "\\", "\\n": "\n", "\\t": "\t"}
_STRING_ESCAPES |= {"\\%": "\\%", "\\_": "\\_"}  # kept escaped for LIKE
COMPARISONS = {"=", "!=", "<>", "<", "<=", ">", ">="}
# Clauses and operators real SOQL has and the emulator does not: refused by name.
UNSUPPORTED = {
    "GROUP",
    "HAVING",
    "TYPEOF",
    "INCLUDES",
    "EXCLUDES",
    "WITH",
    "FOR",
    "USING",
    "ROLLUP",
    "CUBE",
    "FORMAT",
    "TOLABEL",
    "CONVERTCURRENCY",
    "SELECT",
    "COUNT_DISTINCT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "DISTANCE",
    "GEOLOCATION",
}
MAX_OFFSET = 2000  # SOQL's OFFSET ceiling


@dataclass
class Token:
    kind: str
    text: str
    pos: int


@dataclass
class Comparison:
    path: list[str]  # canonical names: ["OwnerId"] is a field, ["Owner", "Name"] a path
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Any  # literal, list of literals, or soql_dates.DateRange
    negate: bool = False


@dataclass
class BoolOp:
    op: str  # AND / OR / NOT
    parts: list[Any]


@dataclass
class Query:
    obj: str
    fields: list[list[str]]  # paths as written (canonical names)
    count_only: bool = False
    where: Any = None
    order_by: list[tuple[list[str], bool, bool]] = field(
        default_factory=list
    )  # path, desc, nulls_last
    limit: int | None = None
    offset: int = 0


def error(code: str, soql: str, pos: int, reason: str) -> RestError:
    # Salesforce echoes the query, marks the column with a caret, then gives the reason.
    message = f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{reason}"
    return rest_error(400, code, message)


def tokenize(soql: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(soql):
        match = _TOKEN_RE.match(soql, pos)
        if not match or match.end() == pos:
            if soql[pos:].strip():
                raise error("MALFORMED_QUERY", soql, pos, f"unexpected token: {soql[pos]}")
            break
        kind = match.lastgroup or "word"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


class Parser:
    """Recursive descent over the tokens; ``resolve(obj, token)`` gives a field path."""

    def __init__(self, soql: str, resolver: Any) -> None:
        self.soql, self.resolver = soql, resolver
        self.tokens = tokenize(soql)
        self.index = 0

    # -- token helpers ----------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token | None:
        at = self.index + ahead
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise error("MALFORMED_QUERY", self.soql, len(self.soql), "unexpected end of query")
        self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return bool(token and token.kind == "word" and token.text.upper() in words)

    def keyword(self, word: str) -> bool:
        if self.at_word(word):
            self.index += 1
            return True
        return False

    def unexpected(self, token: Token) -> RestError:
        if token.kind == "word" and token.text.upper().split("(")[0] in UNSUPPORTED:
            reason = f"{token.text.upper()} is not supported by the LeadSync Salesforce emulator"
            return error("MALFORMED_QUERY", self.soql, token.pos, reason)
        return error("MALFORMED_QUERY", self.soql, token.pos, f"unexpected token: {token.text}")

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            raise self.unexpected(self.take())

    def punct(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise self.unexpected(token)

    # -- grammar ---------------------------------------------------------------------------

    def parse(self) -> Query:
        self.expect("SELECT")
        selected: list[Token] = []
        count_only = False
        if self.at_word("COUNT") and self.peek(1) and self.peek(1).text == "(":
            count_token = self.take()
            self.punct("(")
            if self.peek() and self.peek().text != ")":
                reason = "COUNT(field) is not supported by the LeadSync Salesforce emulator"
                raise error("MALFORMED_QUERY", self.soql, count_token.pos, reason)
            self.punct(")")
            count_only = True
        else:
            selected.append(self.selected_item())
            while self.peek() and self.peek().text == ",":
                self.take()
                selected.append(self.selected_item())
        self.expect("FROM")
        obj_token = self.take()
        obj = self.resolver.object(self.soql, obj_token)
        query = Query(obj, [], count_only=count_only)
        for token in selected:
            query.fields.append(self.resolver.path(self.soql, obj, token))
        if self.keyword("WHERE"):
            query.where = self.condition(obj)
        if self.keyword("ORDER"):
            self.expect("BY")
            query.order_by.append(self.order_item(obj))
            while self.peek() and self.peek().text == ",":
                self.take()
                query.order_by.append(self.order_item(obj))
        if self.keyword("LIMIT"):
            query.limit = self.integer()
        if self.keyword("OFFSET"):
            token = self.peek()
            query.offset = self.integer()
            if query.offset > MAX_OFFSET:
                reason = f"Maximum SOQL offset allowed is {MAX_OFFSET}"
                raise error("NUMBER_OUTSIDE_VALID_RANGE", self.soql, token.pos, reason)
        if self.peek() is not None:
            raise self.unexpected(self.take())
        return query

    def selected_item(self) -> Token:
        token = self.take()
        following = self.peek()
        if token.kind != "word" or (following is not None and following.text == "("):
            # A function call (COUNT(Id), toLabel(...)) or a sub-query: not emulated.
            reason = f"{token.text}(...) is not supported by the LeadSync Salesforce emulator"
            raise error("MALFORMED_QUERY", self.soql, token.pos, reason)
        if token.text.upper() in UNSUPPORTED:  # TYPEOF ... END and the like
            raise self.unexpected(token)
        return token

    def integer(self) -> int:
        token = self.take()
        if not token.text.isdigit():
            raise self.unexpected(token)
        return int(token.text)

    def order_item(self, obj: str) -> tuple[list[str], bool, bool]:
        path = self.resolver.path(self.soql, obj, self.take())
        descending = self.keyword("DESC")
        if not descending:
            self.keyword("ASC")
        nulls_last = descending  # Salesforce: nulls first ascending, last descending
        if self.keyword("NULLS"):
            token = self.take()
            if token.text.upper() not in ("FIRST", "LAST"):
                raise self.unexpected(token)
            nulls_last = token.text.upper() == "LAST"
        return path, descending, nulls_last

    def condition(self, obj: str) -> Any:
        """A chain of terms joined by one connector (AND or OR, never both unbracketed)."""
        parts = [self.term(obj)]
        connector = None
        while self.at_word("AND", "OR"):
            token = self.take()
            if connector and token.text.upper() != connector:
                raise error(
                    "MALFORMED_QUERY", self.soql, token.pos, f"unexpected token: {token.text}"
                )
            connector = token.text.upper()
            parts.append(self.term(obj))
        return BoolOp(connector, parts) if connector else parts[0]

    def term(self, obj: str) -> Any:
        if self.keyword("NOT"):
            return BoolOp("NOT", [self.term(obj)])
        if self.peek() and self.peek().text == "(":
            self.take()
            inner = self.condition(obj)
            self.punct(")")
            return inner
        return self.comparison(obj)

    def comparison(self, obj: str) -> Comparison:
        field_token = self.take()
        path = self.resolver.path(self.soql, obj, field_token)
        negate = self.keyword("NOT")
        op_token = self.take()
        op = op_token.text.upper()
        if op == "IN":
            self.punct("(")
            if self.at_word("SELECT"):
                raise self.unexpected(self.peek())
            values = [self.value(obj, path)]
            while self.peek() and self.peek().text == ",":
                self.take()
                values.append(self.value(obj, path))
            self.punct(")")
            return Comparison(path, "IN", values, negate)
        if op == "LIKE":
            token = self.take()
            if token.kind != "str":
                raise self.unexpected(token)
            return Comparison(path, "LIKE", self.string(token), negate)
        if negate or op not in COMPARISONS:
            raise self.unexpected(op_token)
        return Comparison(path, "!=" if op == "<>" else op, self.value(obj, path))

    def value(self, obj: str, path: list[str]) -> Any:
        token = self.take()
        kind = self.resolver.field_type(obj, path)
        if token.kind == "str":
            if kind in ("date", "datetime"):
                reason = (
                    f"value of filter criterion for field '{'.'.join(path)}' must be of type "
                    f"{'dateTime' if kind == 'datetime' else 'date'} and should not be "
                    "enclosed in quotes"
                )
                raise error("INVALID_FIELD", self.soql, token.pos, reason)
            return self.string(token)
        if token.kind != "word":
            raise self.unexpected(token)
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if kind in ("date", "datetime"):
            try:
                return soql_dates.literal(token.text, kind, self.resolver.now)
            except ValueError as exc:
                raise error("MALFORMED_QUERY", self.soql, token.pos, str(exc)) from None
        try:
            return float(token.text)
        except ValueError:
            raise self.unexpected(token) from None

    @staticmethod
    def string(token: Token) -> str:
        body = token.text[1:-1]
        return re.sub(r"\\.", lambda m: _STRING_ESCAPES.get(m.group(0), m.group(0)[1]), body)
