"""One source of SQL for two engines: DuckDB's SQL files, rewritten for Spark.

The checks are written once, in DuckDB's dialect, in the portable subset that
both engines understand once ``sqlglot`` has transpiled them.  This module
splits a file into statements, keeps its ``CREATE MACRO`` definitions (Spark has
no macros: each call is replaced by the macro's body, its parameters by the
call's arguments, through sqlglot's syntax tree) and fixes the few functions
whose Spark spelling or meaning differs and that sqlglot does not translate:

* ``strftime`` patterns: literal characters quoted (``'T'``, ``'Z'``), ``%g``
  (milliseconds) as ``SSS``;
* ``millisecond(t)`` (seconds and milliseconds of the minute) and ``epoch_us``
  from ``unix_micros``;
* ``HUGEINT`` as ``DECIMAL(38, 0)`` (a ``TRY_CAST`` from text only of digits,
  as DuckDB's integer cast);
* ``arg_max_null`` as ``max_by`` (both keep a NULL argument of the maximum row);
* ``time_id_key(t, id)``, the order "by time, then by id", as a struct of both:
  DuckDB's definition (``sql/macros.sql``) packs them into one HUGEINT, its
  fastest key, which Spark would hold as DECIMAL(38, 0) arithmetic;
* ``getvariable('x')`` as the session variable ``x`` and ``'infinity'`` times as
  the ends of Spark's calendar.

It needs only ``sqlglot`` (no Java): ``tests/test_spark.py`` checks it apart.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

#: strftime directives the SQL files use, and Spark's pattern letters for them.
STRFTIME = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss",
            "%g": "SSS"}  # fmt: skip
#: Spark's calendar ends, standing for DuckDB's infinite times.
INFINITY = {"infinity": "9999-12-31 23:59:59.999999", "-infinity": "0001-01-01 00:00:00"}
SET_VARIABLE = re.compile(r"\s*SET\s+VARIABLE\s+(\w+)\s*=\s*(.*)", re.IGNORECASE | re.DOTALL)


def statements(text: str) -> list[str]:
    """The statements of a SQL file, split at its semicolons (sqlglot's tokenizer
    knows strings and comments), without empty ones."""
    found, start = [], 0
    for token in sqlglot.Dialect.get_or_raise("duckdb").tokenize(text):
        if token.token_type == TokenType.SEMICOLON:
            found.append(text[start : token.start])
            start = token.end + 1
    found.append(text[start:])
    return [s.strip() for s in found if strip_comments(s).strip()]


def strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


@dataclass
class Macro:
    params: list[str]
    body: exp.Expression
    table: bool  # a table macro (AS TABLE SELECT ...)


@dataclass
class Macros:
    """The macros defined so far (``CREATE MACRO``), to inline into Spark SQL."""

    defined: dict[str, Macro] = field(default_factory=dict)

    def define(self, create: exp.Create) -> None:
        signature = create.this  # UserDefinedFunction(this=Table(name), expressions=params)
        if signature.this.name.lower() in SPARK_FORMS:  # rewritten, not inlined
            return
        params = [p.name for p in signature.expressions]
        body = create.expression
        self.defined[signature.this.name.lower()] = Macro(params, body, isinstance(body, exp.Query))

    def inline(self, tree: exp.Expression) -> exp.Expression:
        """Every macro call replaced by its body, until none is left (a macro's body
        may call another)."""
        for _ in range(20):
            changed = False

            def expand(node: exp.Expression) -> exp.Expression:
                nonlocal changed
                if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous):
                    macro = self.defined.get(node.this.name.lower())
                    if macro and macro.table:
                        changed = True
                        body = substitute(macro, node.this.expressions)
                        alias = node.alias or node.this.name
                        return exp.Subquery(
                            this=body, alias=exp.TableAlias(this=exp.to_identifier(alias))
                        )
                if isinstance(node, exp.Anonymous):
                    macro = self.defined.get(node.name.lower())
                    if macro and not macro.table:
                        changed = True
                        return exp.Paren(this=substitute(macro, node.expressions))
                return node

            tree = tree.transform(expand)
            if not changed:
                return tree
        raise ValueError("macros nest more than 20 deep")


def substitute(macro: Macro, args: list[exp.Expression]) -> exp.Expression:
    """The macro's body with each parameter (an unqualified column of its name)
    replaced by a copy of the call's argument."""
    if len(args) != len(macro.params):
        raise ValueError(f"macro called with {len(args)} arguments, it takes {len(macro.params)}")
    values = dict(zip(macro.params, args, strict=True))

    def put(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in values:
            return exp.Paren(this=copy.deepcopy(values[node.name]))
        return node

    return copy.deepcopy(macro.body).transform(put)


def spark_format(pattern: str) -> str:
    """A strftime pattern as Spark's date_format pattern: directives mapped, every
    other character quoted."""
    out = []
    for part in re.split(r"(%.)", pattern):
        if part in STRFTIME:
            out.append(STRFTIME[part])
        elif part.startswith("%") and len(part) == 2:
            raise ValueError(f"strftime directive {part} has no Spark pattern here")
        elif part:
            out.append("'" + part.replace("'", "''") + "'")
    return "".join(out)


def digits_only(value: exp.Expression) -> exp.Expression:
    """DuckDB's TRY_CAST(text AS HUGEINT): whole numbers only, never rounded."""
    test = exp.RegexpLike(this=copy.deepcopy(value), expression=exp.Literal.string(
        "^[+-]?[0-9]{1,38}$"))  # fmt: skip
    cast = exp.Cast(this=value, to=exp.DataType.build("DECIMAL(38, 0)"))
    return exp.Case(ifs=[exp.If(this=test, true=cast)])


def struct_key(t: exp.Expression, id_: exp.Expression) -> exp.Expression:
    """The order by ``t``, then by ``id_``: Spark orders a struct field by field."""
    fields = [exp.Literal.string("at"), t, exp.Literal.string("id"), id_]
    return exp.Anonymous(this="named_struct", expressions=fields)


#: Macros of ``sql/macros.sql`` whose DuckDB body is an engine tactic: Spark has
#: its own form of them (never the inlined body).
SPARK_FORMS = {"time_id_key": struct_key}


def rewrite(node: exp.Expression) -> exp.Expression:
    """One node of DuckDB's tree in the form Spark means the same by."""
    name = node.name.lower() if isinstance(node, exp.Anonymous) else None
    if name in ("millisecond", "epoch_us", "arg_max_null", *SPARK_FORMS):
        # replaced below: sqlglot's transform does not visit a replaced node's arguments
        node = node.copy()
        node.set("expressions", [e.transform(rewrite) for e in node.expressions])
    if name == "getvariable":
        return exp.column(node.expressions[0].name, table="session", db="system")
    if name == "millisecond":  # DuckDB: the seconds and milliseconds of the minute
        micros = exp.Anonymous(this="unix_micros", expressions=node.expressions)
        return exp.Paren(this=exp.Mod(this=exp.IntDiv(this=micros, expression=exp.Literal.number(
            1000)), expression=exp.Literal.number(60000)))  # fmt: skip
    if name == "epoch_us":
        return exp.Anonymous(this="unix_micros", expressions=node.expressions)
    if name == "arg_max_null":
        return exp.Anonymous(this="max_by", expressions=node.expressions)
    if name in SPARK_FORMS:
        return SPARK_FORMS[name](*node.expressions)
    if isinstance(node, exp.TimeToStr):
        fmt = exp.Literal.string(spark_format(node.args["format"].name))
        return exp.Anonymous(this="date_format", expressions=[node.this, fmt])
    if isinstance(node, exp.TryCast) and node.to.this == exp.DataType.Type.INT128:
        return digits_only(node.this)
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        return exp.DataType.build("DECIMAL(38, 0)")
    if (
        isinstance(node, exp.Cast)
        and isinstance(node.this, exp.Literal)
        and node.this.name in INFINITY
    ):
        return exp.Cast(this=exp.Literal.string(INFINITY[node.this.name]), to=node.to)
    return node


def to_spark(tree: exp.Expression, macros: Macros) -> str:
    """A statement's tree (DuckDB) as Spark SQL: macros inlined, functions rewritten."""
    return macros.inline(tree).transform(rewrite).sql("spark")


def parse(statement: str) -> exp.Expression:
    return sqlglot.parse_one(statement, read="duckdb")
