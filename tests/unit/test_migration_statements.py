"""Migration files split into the statements the migrator executes one by one: a statement ends with ``;`` at the
end of a line, whole-line ``--`` comments go, and a ``;`` inside a line stays part of its statement."""

from __future__ import annotations

import re

from chalicelib.core.migrations import migration_files, split_statements


def test_statements_end_at_a_semicolon_at_the_end_of_a_line():
    sql = "CREATE TABLE a (id INT);\n\nCREATE TABLE b (\n    id INT\n);   \nINSERT INTO a VALUES (1);"

    assert split_statements(sql) == [
        "CREATE TABLE a (id INT)",
        "CREATE TABLE b (\n    id INT\n)",
        "INSERT INTO a VALUES (1)",
    ]


def test_a_semicolon_inside_a_line_stays_in_its_statement():
    sql = "CREATE TABLE t (s VARCHAR(5) DEFAULT ';', c VARCHAR(9) COMMENT 'a; b');\nSELECT 1;"

    assert split_statements(sql) == [
        "CREATE TABLE t (s VARCHAR(5) DEFAULT ';', c VARCHAR(9) COMMENT 'a; b')",
        "SELECT 1",
    ]


def test_whole_line_comments_go_even_when_they_end_with_a_semicolon():
    sql = "-- the store;\nCREATE TABLE t (\n    -- bumped on every write;\n    version INT\n);\n  -- trailing note\n"

    assert split_statements(sql) == ["CREATE TABLE t (\n\n    version INT\n)"]


def test_nothing_but_comments_and_blank_lines_is_no_statement():
    assert split_statements("-- nothing yet\n\n   \n-- still nothing;\n") == []


def test_the_last_statement_needs_no_semicolon():
    assert split_statements("SELECT 1;\nSELECT 2") == ["SELECT 1", "SELECT 2"]


def test_every_migration_file_splits_into_whole_statements_with_distinct_versions():
    files = migration_files()
    versions = [path.name[:4] for path in files]

    assert files and len(set(versions)) == len(versions)
    for path in files:
        statements = split_statements(path.read_text())
        assert statements, path.name
        for statement in statements:
            assert not statement.endswith(";"), (path.name, statement)
            assert not re.search(r"^\s*--", statement, flags=re.MULTILINE), (path.name, statement)
            assert re.match(r"(CREATE|ALTER|INSERT|UPDATE|DELETE|DROP)\b", statement), (path.name, statement)
