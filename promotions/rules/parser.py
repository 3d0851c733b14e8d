"""The `exp` string: a tokenizer and a recursive-descent parser (no eval, no exec).

Grammar, loosest binding first:

    expr       := and ( ("||" | "or") and )*
    and        := not ( ("&&" | "and") not )*
    not        := ("!" | "not") not | comparison
    comparison := additive [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") additive ]
    additive   := term ( ("+" | "-") term )*
    term       := unary ( ("*" | "/" | "%") unary )*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | true | false | null | "[" [expr ("," expr)*] "]"
                | "(" expr ")" | NAME ("." NAME)* [ "(" [expr ("," expr)*] ")" ]

Strings take single or double quotes with backslash escapes. `=` alone is read as `==` and
`<>` as `!=` (spellings found in older rule texts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from promotions.rules.nodes import MAX_DEPTH, MAX_EXPRESSION_LENGTH, Node, RuleSyntaxError

KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
TOKEN_PATTERN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|<>|[<>=!+\-*/%().,\[\]])
    """,
    re.VERBOSE | re.DOTALL,
)
ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, keyword, op, end
    text: str
    position: int


def _unquote(text: str, position: int) -> str:
    body = text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 1
            escaped = body[index] if index < len(body) else ""
            if escaped not in ESCAPES:
                raise RuleSyntaxError(f"Unknown escape \\{escaped} in the string at {position}")
            out.append(ESCAPES[escaped])
        else:
            out.append(char)
        index += 1
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise RuleSyntaxError(f"The expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = TOKEN_PATTERN.match(text, position)
        if match is None:
            raise RuleSyntaxError(f"Unexpected character {text[position]!r} at {position}")
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "string":
            tokens.append(Token("string", _unquote(value, position), position))
        elif kind == "name" and value.lower() in KEYWORDS:
            tokens.append(Token("keyword", value.lower(), position))
        elif kind == "op":
            normalised = {"=": "==", "<>": "!="}.get(value, value)
            tokens.append(Token("op", normalised, position))
        elif kind != "space":
            tokens.append(Token(kind, value, position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    # Token helpers -------------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def _advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _at(self, kind: str, *texts: str) -> bool:
        token = self.current
        return token.kind == kind and (not texts or token.text in texts)

    def _expect(self, kind: str, text: str) -> Token:
        if not self._at(kind, text):
            raise self._error(f"expected {text!r}")
        return self._advance()

    def _error(self, message: str) -> RuleSyntaxError:
        token = self.current
        found = "the end" if token.kind == "end" else repr(token.text)
        return RuleSyntaxError(f"{message} at {token.position}, found {found}")

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleSyntaxError(f"The expression nests deeper than {MAX_DEPTH} levels")

    # Grammar -------------------------------------------------------------------------------
    def parse(self) -> Node:
        if self._at("end"):
            raise RuleSyntaxError("The expression is empty")
        node = self.expression()
        if not self._at("end"):
            raise self._error("unexpected text after the expression")
        return node

    def expression(self) -> Node:
        self._enter()
        node = self.conjunction()
        while self._at("op", "||") or self._at("keyword", "or"):
            self._advance()
            node = ("or", node, self.conjunction())
        self.depth -= 1
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self._at("op", "&&") or self._at("keyword", "and"):
            self._advance()
            node = ("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self._at("op", "!") or self._at("keyword", "not"):
            self._advance()
            self._enter()
            node = ("not", self.negation())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        if self._at("op", "==", "!=", "<", "<=", ">", ">="):
            op = self._advance().text
            return ("cmp", op, left, self.additive())
        if self._at("keyword", "in"):
            self._advance()
            return ("in", left, self.additive())
        if self._at("keyword", "not") and self.tokens[self.index + 1].text == "in":
            self.index += 2
            return ("notin", left, self.additive())
        return left

    def additive(self) -> Node:
        node = self.term()
        while self._at("op", "+", "-"):
            op = self._advance().text
            node = ("arith", op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self._at("op", "*", "/", "%"):
            op = self._advance().text
            node = ("arith", op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self._at("op", "-"):
            self._advance()
            self._enter()
            operand = self.unary()
            self.depth -= 1
            if operand[0] == "lit" and isinstance(operand[1], Decimal):
                return ("lit", -operand[1])
            return ("neg", operand)
        return self.primary()

    def _arguments(self, closing: str) -> tuple[Node, ...]:
        items: list[Node] = []
        if not self._at("op", closing):
            items.append(self.expression())
            while self._at("op", ","):
                self._advance()
                items.append(self.expression())
        self._expect("op", closing)
        return tuple(items)

    def primary(self) -> Node:
        token = self.current
        if token.kind == "number":
            self._advance()
            try:
                return ("lit", Decimal(token.text))
            except InvalidOperation as exc:  # pragma: no cover - the pattern only lets digits in
                raise RuleSyntaxError(f"Bad number {token.text!r}") from exc
        if token.kind == "string":
            self._advance()
            return ("lit", token.text)
        if token.kind == "keyword" and token.text in {"true", "false", "null"}:
            self._advance()
            return ("lit", {"true": True, "false": False, "null": None}[token.text])
        if self._at("op", "["):
            self._advance()
            return ("list", self._arguments("]"))
        if self._at("op", "("):
            self._advance()
            node = self.expression()
            self._expect("op", ")")
            return node
        if token.kind == "name":
            self._advance()
            parts = [token.text]
            while self._at("op", "."):
                self._advance()
                if self.current.kind not in {"name", "keyword"}:
                    raise self._error("expected a name after '.'")
                parts.append(self._advance().text)
            if self._at("op", "("):
                if len(parts) > 1:
                    raise self._error("only plain function names can be called")
                self._advance()
                return ("call", parts[0], self._arguments(")"))
            return ("var", ".".join(parts))
        raise self._error("expected a value, a name or '('")


def parse_exp(text: str) -> Node:
    """Parse an `exp` rule string into a tree. Raises RuleSyntaxError."""
    if not isinstance(text, str):
        raise RuleSyntaxError("The expression must be a string")
    return _Parser(text).parse()
