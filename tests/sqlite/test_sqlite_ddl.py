"""Splitting the DDL files into statements, since executescript() would commit."""

from __future__ import annotations

from eventsourcing_kit.stores.sqlite._setup import split_statements


def test_a_trigger_body_stays_one_statement() -> None:
    script = (
        "CREATE TABLE t (a);\n"
        "CREATE TRIGGER no_update BEFORE UPDATE ON t BEGIN SELECT RAISE(ABORT, 'no'); END;\n"
    )
    statements = [s.strip() for s in split_statements(script) if s.strip(" \n;")]
    assert statements == [
        "CREATE TABLE t (a);",
        "CREATE TRIGGER no_update BEFORE UPDATE ON t BEGIN SELECT RAISE(ABORT, 'no'); END;",
    ]


def test_semicolons_in_comments_and_strings_do_not_split() -> None:
    script = "-- one; two\nCREATE TABLE t (a TEXT DEFAULT 'x;y');\n"
    statements = [s for s in split_statements(script) if s.strip(" \n;")]
    assert len(statements) == 1
    assert "'x;y'" in statements[0]
