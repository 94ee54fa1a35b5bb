#!/usr/bin/env python3
"""Peer comparison: the rule pack's SQL on the same lake in DuckDB, against `pimwatch detect`.

Registers the lake's Parquet (Hive partitions) in DuckDB, the same context tables pimwatch
registers (`run`, `role_catalogue`, `break_glass_config`), every view of `rules/views/` and
every rule of `rules/`, with the same parameters bound as values. It reports the time of a
full detect in each engine (best of --repeat runs, each engine in a fresh process or
connection) and whether both found the same (rule, entity) pairs.

    pip install duckdb
    python3 benches/peer/duckdb_detect.py --lake /tmp/tenant-lake \\
        --as-of 2026-12-30T00:00:00Z --lookback 91

Two spellings differ between the engines and are translated: `regexp_like` (DuckDB:
`regexp_matches`) and `cardinality` of a list (DuckDB: `len`).

DuckDB compiles a regular expression that comes from a column once per row, which makes
`break_glass_accounts` (patterns from `break_glass_config`) cost it about 1.4 s per query on a
50,000-user lake. `--literal-break-glass` also times DuckDB with that view's default patterns
written as literals, which is what a DuckDB user would do.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time
import tomllib

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TABLES = {
    "audit_events": "date", "sign_ins": "date", "principals": "snapshot",
    "role_definitions": "snapshot", "role_assignments": "snapshot",
    "role_eligibilities": "snapshot", "role_requests": "snapshot",
    "role_policies": "snapshot", "group_members": "snapshot",
}
DEFAULT_BREAK_GLASS_PATTERNS = ["(?i)break[-_. ]?glass", "(?i)emergency[-_. ]?access"]
LITERAL_BREAK_GLASS = """
SELECT p.principal_id, p.upn, p.display_name, 'pattern' AS matched_by
FROM current_principals p
WHERE p.principal_type = 'user' AND ({})
""".format(" OR ".join(
    f"regexp_matches(coalesce(p.{column}, ''), '{pattern}')"
    for pattern in DEFAULT_BREAK_GLASS_PATTERNS for column in ("upn", "display_name")))


def translate(sql):
    sql = re.sub(r"\bregexp_like\(", "regexp_matches(", sql)
    return re.sub(r"\bcardinality\(", "len(", sql)


def parse_time(text):
    if len(text) == 10:
        text += "T00:00:00Z"
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_rules(rules_dir):
    rules, views = [], {}
    for folder, _, files in os.walk(rules_dir):
        if os.sep + "fixtures" in folder:
            continue
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name.endswith(".toml"):
                with open(path, "rb") as f:
                    rules.append(tomllib.load(f))
            elif name.endswith(".sql") and os.path.basename(folder) == "views":
                with open(path, encoding="utf-8") as f:
                    views[name[:-4]] = f.read()
    return sorted(rules, key=lambda r: r["id"]), views


def catalogue(pimwatch):
    out = subprocess.run([pimwatch, "query", "--format", "json", "SELECT * FROM role_catalogue"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def connect(lake, views, as_of, roles):
    db = duckdb.connect()
    for table, partition in TABLES.items():
        pattern = os.path.join(lake, table, f"{partition}=*", "*.parquet")
        if any(True for _ in _glob(os.path.join(lake, table))):
            db.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{pattern}', hive_partitioning = true)")
    db.execute("CREATE TABLE run (as_of TIMESTAMPTZ)")
    db.execute("INSERT INTO run VALUES ($as_of)", {"as_of": as_of})
    db.execute("CREATE TABLE role_catalogue (role_id VARCHAR, display_name VARCHAR, platform VARCHAR, "
               "is_privileged BOOLEAN, highly_privileged BOOLEAN, tier INTEGER)")
    db.executemany("INSERT INTO role_catalogue VALUES (?, ?, ?, ?, ?, ?)",
                   [(r["role_id"], r["display_name"], r["platform"], r["is_privileged"],
                     r["highly_privileged"], r["tier"]) for r in roles])
    db.execute("CREATE TABLE break_glass_config (value VARCHAR, kind VARCHAR)")
    db.executemany("INSERT INTO break_glass_config VALUES (?, 'pattern')",
                   [(p,) for p in DEFAULT_BREAK_GLASS_PATTERNS])
    pending = dict(views)
    while pending:
        failed = {}
        for name, sql in pending.items():
            try:
                db.execute(f"CREATE VIEW {name} AS {translate(sql)}")
            except duckdb.Error as e:
                failed[name] = e
        if len(failed) == len(pending):
            # Views over tables this lake does not have (e.g. no role requests) stay out.
            for name, e in failed.items():
                print(f"note: view {name} not registered in DuckDB: {str(e).splitlines()[0]}",
                      file=sys.stderr)
            break
        pending = {n: views[n] for n in failed}
    return db


def _glob(folder):
    if not os.path.isdir(folder):
        return
    for entry in os.scandir(folder):
        if entry.is_dir() and not entry.name.startswith((".", "_")):
            for file in os.scandir(entry.path):
                if file.name.endswith(".parquet"):
                    yield file.path


def run_duckdb(db, rules, as_of, lookback):
    pairs = set()
    for rule in rules:
        days = rule.get("lookback_days", lookback if rule["kind"] == "event" else 0)
        params = {"as_of": as_of, "window_start": as_of - datetime.timedelta(days=days)}
        params.update(rule.get("params", {}))
        sql = translate(rule["sql"])
        used = {name: value for name, value in params.items() if f"${name}" in sql}
        cursor = db.execute(sql, used)
        columns = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            values = dict(zip(columns, row))
            pairs.add((rule["id"], "/".join("-" if values[c] is None else str(values[c])
                                            for c in rule["entity"])))
    return pairs


def run_pimwatch(pimwatch, lake, as_of_text, lookback):
    started = time.perf_counter()
    out = subprocess.run([pimwatch, "--lake", lake, "detect", "--as-of", as_of_text, "--lookback",
                          str(lookback), "--format", "ndjson", "--no-store"],
                         capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"pimwatch detect failed: {out.stderr}")
    pairs = {(a["rule_id"], a["entity_id"]) for a in map(json.loads, out.stdout.splitlines())}
    return seconds, pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--rules", default=os.path.join(ROOT, "rules"))
    parser.add_argument("--pimwatch", default=os.path.join(ROOT, "target", "release", "pimwatch"))
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--lookback", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--literal-break-glass", action="store_true",
                        help="also time DuckDB with literal break-glass patterns")
    args = parser.parse_args()

    rules, views = load_rules(args.rules)
    as_of = parse_time(args.as_of)
    roles = catalogue(args.pimwatch)

    pimwatch_times, pimwatch_pairs = [], set()
    for _ in range(args.repeat):
        seconds, pimwatch_pairs = run_pimwatch(args.pimwatch, args.lake, args.as_of, args.lookback)
        pimwatch_times.append(seconds)

    def time_duckdb(views):
        times, pairs = [], set()
        for _ in range(args.repeat):
            started = time.perf_counter()
            db = connect(args.lake, views, as_of, roles)
            pairs = run_duckdb(db, rules, as_of, args.lookback)
            times.append(time.perf_counter() - started)
            db.close()
        return times, pairs

    duckdb_times, duckdb_pairs = time_duckdb(views)
    best_p, best_d = min(pimwatch_times), min(duckdb_times)
    print(f"rules: {len(rules)}; lake: {args.lake}")
    print(f"pimwatch detect (process, all rules): best {best_p:.2f} s of {args.repeat}: "
          + ", ".join(f"{t:.2f}" for t in pimwatch_times))
    print(f"duckdb {duckdb.__version__} (connection, same SQL): best {best_d:.2f} s of {args.repeat}: "
          + ", ".join(f"{t:.2f}" for t in duckdb_times))
    print(f"ratio pimwatch/duckdb: {best_p / best_d:.2f}")
    if args.literal_break_glass:
        literal_times, literal_pairs = time_duckdb(dict(views, break_glass_accounts=LITERAL_BREAK_GLASS))
        best_l = min(literal_times)
        print(f"duckdb, literal break-glass patterns: best {best_l:.2f} s of {args.repeat}: "
              + ", ".join(f"{t:.2f}" for t in literal_times)
              + f"; ratio pimwatch/duckdb: {best_p / best_l:.2f}")
        if literal_pairs != duckdb_pairs:
            sys.exit("findings differ with literal break-glass patterns")
    if pimwatch_pairs == duckdb_pairs:
        print(f"findings: identical ({len(pimwatch_pairs)} (rule, entity) pairs)")
    else:
        print(f"findings differ: only pimwatch {sorted(pimwatch_pairs - duckdb_pairs)}; "
              f"only duckdb {sorted(duckdb_pairs - pimwatch_pairs)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
