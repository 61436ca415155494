#!/usr/bin/env python3
"""Applies pending SQL migrations in order; --apply to run them, dry run otherwise."""
import argparse
import pathlib
import sqlite3

MIGRATIONS = pathlib.Path(__file__).parent / "migrations"


def pending(conn: sqlite3.Connection) -> list[pathlib.Path]:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)")
    done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    return [p for p in sorted(MIGRATIONS.glob("*.sql")) if p.name not in done]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="gateway.sqlite")
    parser.add_argument("--apply", action="store_true")
    args = parser.parse_args()
    conn = sqlite3.connect(args.db)
    for path in pending(conn):
        print(("applying " if args.apply else "would apply ") + path.name)
        if args.apply:
            conn.executescript(path.read_text())
            conn.execute("INSERT INTO schema_migrations VALUES (?)", (path.name,))
            conn.commit()


if __name__ == "__main__":
    main()
