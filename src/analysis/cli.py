"""The command line: ``python -m analysis <command>``. Nothing imports this module.

Each command is a pair: ``_add_<name>(subparsers)`` declares its arguments and ``_cmd_<name>(args)``
calls the library. Heavy libraries are imported inside the commands so ``--help`` stays quick.
Exit codes: 0 success, 1 the job ran but something failed (a notebook, a check) or a bug (the
traceback is written to a log file whose path is printed), 2 bad input (an
:class:`analysis.errors.InputError`, printed as ``error: <file, line, column: message>``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import config
from analysis.errors import InputError  # bad input detected by a command: ``error: ...``, exit code 2


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------- generate
def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="write the synthetic sample bank's raw exports (or the same bank at real volume)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: data/raw for the sample; --scale city/bank need a folder you name)")
    p.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="random seed (same seed, same files)")
    p.add_argument("--scale", choices=["sample", "large", "city", "bank"], default="sample",
                   help="sample: the bundled bank; city: the same bank at a city branch's volume (~15 M queue tickets, ~15 M teller ratings, ~3 M calls a year); "
                        "bank: --outlets N outlets, events in proportion; large: call records as Parquet for benchmarks")
    p.add_argument("--rows", type=int, default=10_000_000, help="with --scale large: how many call records (default 10 million)")
    p.add_argument("--outlets", type=int, default=None, help="with --scale bank: how many outlets (the city branch's 148, then more branches like it)")
    p.add_argument("--small-2015", dest="small_2015", action="store_true", help="with --scale city/bank: keep 2015's events at the sample's size (faster; 2015 volumes then not comparable)")
    p.add_argument("--tickets", type=int, default=None, help=argparse.SUPPRESS)  # tests and benchmarks: 2016 queue tickets (the other events in proportion)


def _cmd_generate(args) -> int:
    if args.scale in ("city", "bank"):
        from analysis import volume

        if args.out is None:
            raise InputError(f"--scale {args.scale} writes gigabytes: name the folder with --out (for example --out /tmp/city)")
        if args.scale == "bank" and not args.outlets:
            raise InputError("--scale bank needs --outlets N (for example --outlets 23433)")
        volume.main(out=args.out, seed=args.seed, scale=args.scale, outlets=args.outlets, tickets=args.tickets, small_2015=args.small_2015)
        return 0
    from analysis import generate

    generate.main(out=args.out or config.RAW_DIR, seed=args.seed, scale=args.scale, rows=args.rows)
    return 0


# ------------------------------------------------------------------------------------------- clean
def _add_clean(sub) -> None:
    p = sub.add_parser("clean", help="load, clean and validate every raw source into Parquet")
    p.add_argument("--raw", type=Path, default=config.RAW_DIR, help="raw exports (read only; default: data/raw)")
    p.add_argument("--out", type=Path, default=config.PROCESSED_DIR, help="output folder (default: data/processed)")
    p.add_argument("--only", action="append", metavar="SOURCE", help="clean only this source (repeatable)")
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb", help="where the rules run: duckdb (embedded, out-of-core; default) or spark (a local session, or a cluster: see README)")
    p.add_argument("--mapping", action="append", metavar="SOURCE=FILE.yaml", help="read a foreign export's headers for SOURCE (canonical column: header; `inspect FILE --source SOURCE` drafts one; repeatable)")


def _cmd_clean(args) -> int:
    from analysis.clean.engine import clean_all
    from analysis.clean.sources import parse_mapping_args

    reports = clean_all(args.raw, args.out, only=args.only, engine=args.engine, mappings=parse_mapping_args(args.mapping))
    rejected = sum(r.rejected for r in reports.values())
    print(f"clean tables in {args.out}; {rejected:,} rejected rows in {config.rejected_dir(args.out)}")
    return 0


# --------------------------------------------------------------------------------------------- run
def _add_run(sub) -> None:
    p = sub.add_parser("run", help="clean, run every notebook, publish offline HTML reports and reports/index.html (the campaign overview)")
    p.add_argument("--params", type=Path, metavar="FILE.yaml", help="run options and notebook parameters from a YAML file (flags given here override it; see README, Scheduled runs)")
    p.add_argument("--raw", type=Path, default=None, help="raw exports (read only; default: data/raw)")
    p.add_argument("--processed", type=Path, default=None, help="clean tables folder (default: data/processed)")
    p.add_argument("--out", type=Path, default=None, help="reports folder (default: reports)")
    p.add_argument("--period", default=None, help=f"reporting period: 2016, 2016-06 or 2016Q2 (default: {config.DEFAULT_PERIOD})")
    p.add_argument("--jobs", type=int, default=None, help="notebooks run at once (default: the number of CPUs)")
    p.add_argument("--only", action="append", metavar="NAME", help="run only this notebook (01_data_quality or data_quality; unit_scorecard: the unit pages; repeatable); the index keeps the others' last results")
    p.add_argument("--per-unit", dest="per_unit", action=argparse.BooleanOptionalAction, default=None, help="also publish one page per unit: reports/units/<unit_id>.html")
    p.add_argument("--unit", dest="units", action="append", metavar="ID", help="publish this unit's page only (a sub-branch id; repeatable); alone it runs no other notebook")
    p.add_argument("--overview", dest="overview", action=argparse.BooleanOptionalAction, default=None, help="the campaign overview on the index page (default: on)")
    p.add_argument("--notebooks", type=Path, default=None, help="notebooks folder (default: notebooks)")
    p.add_argument("--clean", dest="clean", action=argparse.BooleanOptionalAction, default=None, help="clean the raw exports first (default); --no-clean uses the clean tables already in --processed")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="stop a notebook cell that runs longer than this (default: no limit)")
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb", help="where cleaning and the event notebooks run: duckdb (default) or spark")
    p.add_argument("--mapping", action="append", metavar="SOURCE=FILE.yaml", help="as for clean: a foreign export's headers for SOURCE (repeatable)")
    p.add_argument("--campaign", type=Path, default=None, metavar="FOLDER",
                   help="publish another organisation's campaign from its folder (campaign.yaml, raw/, targets; e.g. examples/water-bureau) "
                        "to --out (default: reports/campaigns/NAME); its clean tables go to OUT/processed")


def _cmd_run_campaign(args) -> int:
    from analysis.report.campaign_site import run_campaign

    flags = {"params": "--params", "raw": "--raw", "processed": "--processed", "only": "--only", "per_unit": "--per-unit", "units": "--unit",
             "overview": "--overview", "notebooks": "--notebooks", "clean": "--clean", "mapping": "--mapping"}
    ignored = [flag for dest, flag in flags.items() if getattr(args, dest) not in (None, [])]
    if ignored:
        raise InputError(f"--campaign takes its raw folder, mappings and notebooks from the campaign folder; drop {', '.join(ignored)}")
    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {args.jobs}")
    manifest = run_campaign(args.campaign, args.out, period=args.period, jobs=args.jobs, engine=args.engine, timeout=args.timeout,
                            echo=lambda line: print(line, flush=True))
    return 0 if manifest["status"] == "ok" else 1


def _cmd_run(args) -> int:
    if args.campaign is not None:
        return _cmd_run_campaign(args)
    from analysis.clean.sources import parse_mapping_args
    from analysis.periods import Period
    from analysis.report.params import load_params, resolve
    from analysis.report.runner import run_suite

    params = load_params(args.params) if args.params else None
    o = resolve({k: getattr(args, k) for k in ("period", "jobs", "per_unit", "units", "only", "overview", "clean", "timeout", "raw", "processed", "out", "notebooks")}, params)
    Period.parse(o["period"])  # a bad period is an InputValueError (exit 2); nothing else is caught as input
    if o["jobs"] is not None and o["jobs"] < 1:
        raise InputError(f"--jobs must be at least 1, got {o['jobs']}")
    manifest = run_suite(
        raw_dir=o["raw"],
        processed_dir=o["processed"],
        reports_dir=o["out"],
        notebooks_dir=o["notebooks"],
        period=o["period"],
        jobs=o["jobs"],
        only=o["only"],
        clean=o["clean"],
        timeout=o["timeout"],
        per_unit=o["per_unit"],
        units=o["units"],
        overview=o["overview"],
        parameters=o["parameters"],
        notebook_parameters=o["notebook_parameters"],
        echo=lambda line: print(line, flush=True),
        engine=args.engine,
        mappings=parse_mapping_args(args.mapping),
    )
    return 0 if manifest["status"] == "ok" else 1


# ---------------------------------------------------------------------- calls / waits / ratings
# Service events (issue 6): one aggregation each, DuckDB by default, Spark with --engine spark.
def _add_event_args(p, default_by: str) -> None:
    p.add_argument("--input", type=Path, required=True, help="a CSV or Parquet file, or a folder of them (canonical columns of the clean table)")
    p.add_argument("--out", type=Path, required=True, help="output CSV; records left out go to OUT.rejected.csv next to it")
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb", help="duckdb: embedded, out-of-core (default); spark: a Spark session (local, or a cluster via ANALYSIS_SPARK_MASTER / spark conf)")
    p.add_argument("--by", default=default_by, help=f"grouping keys, comma-separated (default: {default_by}); time keys: date, month, year, weekday, hour, half_hour")
    p.add_argument("--period", help="keep events in this period only: 2016, 2016-06 or 2016Q2")


def _add_calls(sub) -> None:
    p = sub.add_parser("calls", help="call-centre answer rate, service level and abandonment per center x date")
    _add_event_args(p, "center,date")
    p.add_argument("--threshold", type=float, default=20, help="service-level threshold in seconds: answered within it (<=) counts (default 20)")
    p.add_argument("--short-abandon", type=float, default=0, help="calls abandoned within this many seconds (<=) leave the offered count (default 0: none do)")
    p.add_argument("--format", choices=["auto", "canonical", "anonymous-bank"], default="auto", help="input format; auto recognises the Anonymous Bank call-centre files by their header")


def _add_waits(sub) -> None:
    p = sub.add_parser("waits", help="queue waiting times per outlet x date x business type (minutes, share over 10 minutes)")
    _add_event_args(p, "outlet_id,date,business_type")


def _add_ratings(sub) -> None:
    p = sub.add_parser("ratings", help="teller rating rate and satisfaction per outlet x month")
    _add_event_args(p, "outlet_id,month")


def _run_event_command(args, compute) -> int:
    import warnings

    from analysis.events.engine import EngineUnavailable

    by = [k.strip() for k in args.by.split(",") if k.strip()]
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("ignore")  # the rejected-record warning is reported below instead
            result = compute(by)
    except EngineUnavailable as exc:
        raise InputError(f"--engine {args.engine} cannot run here: {exc}") from exc
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result.write_table(args.out)
    rejected_path = args.out.with_name(args.out.stem + ".rejected.csv")
    left_out = result.counts["rejected"] + result.counts["excluded"]
    if left_out:
        result.write_rejected(rejected_path)
    elif rejected_path.exists():
        rejected_path.unlink()  # a stale file from an earlier run would mislead
    print(f"{result.arrow.num_rows:,} rows in {args.out}; {result.summary()}")
    for reason, n in result.counts["reasons"].items():
        _warn(f"{n:,} records left out: {reason}")
    if left_out:
        _warn(f"records left out, each with its reason: {rejected_path}")
    return 0


def _cmd_calls(args) -> int:
    from analysis.events.callcentre import calls

    return _run_event_command(
        args,
        lambda by: calls(args.input, args.engine, threshold=args.threshold, short_abandon=args.short_abandon, by=by, period=args.period, format=args.format),
    )


def _cmd_waits(args) -> int:
    from analysis.events.queues import waits

    return _run_event_command(args, lambda by: waits(args.input, args.engine, by=by, period=args.period))


def _cmd_ratings(args) -> int:
    from analysis.events.tellers import ratings

    return _run_event_command(args, lambda by: ratings(args.input, args.engine, by=by, period=args.period))
# ------------------------------------------------------------------------------- score / template
def _add_score(sub) -> None:
    p = sub.add_parser("score", help="score a unit table with a scheme and write the league table (CSV)")
    p.add_argument("--scheme", required=True, help="a scheme name in schemes/ (e.g. competition-2011) or a path to a scheme YAML")
    p.add_argument("--input", required=True, type=Path, help="score input: CSV (UTF-8 or GBK) or .xlsx, one row per unit")
    p.add_argument("--out", required=True, type=Path, help="league table CSV (UTF-8), full precision")
    p.add_argument("--period", default="", help="period label named in warnings (e.g. 2016)")
    p.add_argument("--weight-set", default=None, help="an alternative weight set of the scheme (default: the scheme's weights)")


def _cmd_score(args) -> int:
    from analysis.scoring import load_scheme, read_units, score

    scheme = load_scheme(args.scheme)
    units = read_units(args.input, scheme)
    for h in units.ignored_columns:
        _warn(f"{units.source}: column {h!r} is not an input of {scheme.id}; ignored")
    result = score(units.data, scheme, period=args.period, weight_set=args.weight_set, source=units.source)
    for w in result.warnings:
        _warn(str(w))
    if scheme.assumed:
        _warn(f"scheme {scheme.id} uses assumed point rules: {scheme.notice}")
    out = result.table.copy()
    out["award_eligible"] = out["award_eligible"].map({True: "true", False: "false"})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from analysis.report.excel import write_csv

    write_csv(out, args.out, encoding="utf-8")
    leader = out.iloc[0]
    print(f"scored {len(out)} units with {scheme.id}; rank 1: {leader['unit_name']} ({leader['total']:.2f}); league table in {args.out}")
    return 0


def _add_template(sub) -> None:
    p = sub.add_parser("template", help="write a blank score-input workbook for a scheme")
    p.add_argument("--scheme", required=True, help="a scheme name in schemes/ or a path to a scheme YAML")
    p.add_argument("--out", required=True, type=Path, help="the workbook to write (.xlsx)")


def _cmd_template(args) -> int:
    from analysis.scoring import load_scheme
    from analysis.scoring.export import write_template

    if args.out.suffix.lower() != ".xlsx":
        raise InputError(f"{args.out}: the template is an Excel workbook; give a .xlsx file name")
    scheme = load_scheme(args.scheme)
    write_template(scheme, args.out)
    print(f"template for {scheme.id} ({len(scheme.inputs)} columns) in {args.out}")
    return 0


# ----------------------------------------------------------------------------------------- targets
def _add_targets(sub) -> None:
    p = sub.add_parser("targets", help="campaign targets: actual, target, gap, projection and status")
    p.add_argument("--period", default=config.DEFAULT_PERIOD, help="2016, 2016-06 or 2016Q2 (default: %(default)s)")
    p.add_argument("--processed", type=Path, default=config.PROCESSED_DIR, help="clean tables (default: data/processed)")
    p.add_argument("--targets", type=Path, default=config.TARGETS_DIR / "campaign-2016.yaml", help="targets file (default: targets/campaign-2016.yaml)")
    p.add_argument("--sub-branch", help="judge every target for this sub-branch alone")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write (one row per target and scope)")


def _cmd_targets(args) -> int:
    from analysis import targets
    from analysis.periods import Period

    if not args.processed.is_dir():
        raise InputError(f"{args.processed}: no such folder of clean tables (run `python -m analysis clean`)")
    result = targets.evaluate(args.targets, Period.parse(args.period), args.processed, sub_branch=args.sub_branch)
    table = result.table
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from analysis.report.excel import write_csv

    write_csv(table, args.out)
    for _, row in table[table["status"] == "n/a"].iterrows():
        _warn(f"target {row['target_id']} ({row['scope_label'] or row['scope']}): n/a: {row['note']}")
    print(targets.compact_text(table, result.period))
    counts = targets.status_counts(table)
    print("  ".join(f"{k}: {v}" for k, v in counts.items()) + f"  ->  {args.out}")
    return 0


# ------------------------------------------------------------------------------------------- peers
def _add_peers(sub) -> None:
    p = sub.add_parser("peers", help="rank entities against their peers from a long-form file (entity, period, metric, value)")
    p.add_argument("--input", type=Path, required=True, help="CSV or .xlsx in long form: entity, period, metric, value (Chinese headers accepted)")
    p.add_argument("--focus", required=True, help="the entity whose rows are printed as sentences (e.g. 农行)")
    p.add_argument("--lower-better", default="", metavar="M1,M2", help="metrics where a lower value is better (default: higher is better)")
    p.add_argument("--out", type=Path, required=True, help="output CSV: one row per entity x metric x period")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the printed sentences")


def _cmd_peers(args) -> int:
    from analysis import peers

    table = peers.read_long(args.input)
    lower = {m.strip() for m in args.lower_better.split(",") if m.strip()}
    metrics = set(table["metric"])
    for m in sorted(lower - metrics):
        _warn(f"--lower-better names {m!r}, which is not a metric in {args.input} (metrics: {', '.join(sorted(metrics))})")
    entities = list(dict.fromkeys(table["entity"]))
    if args.focus not in entities:
        raise InputError(f"{args.input}: focus {args.focus!r} is not an entity in the file (entities: {', '.join(entities)})")
    result = peers.compare(table, lower & metrics)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from analysis.report.excel import write_csv

    write_csv(result[peers.OUTPUT_COLUMNS], args.out)
    catalogue = peers.load_catalogue()
    for line in peers.sentences(result, args.focus, lang=args.lang, catalogue=catalogue)["sentence"]:
        print(line)
    print(f"{len(result):,} rows ({len(entities)} entities, {len(metrics)} metrics) written to {args.out}")
    return 0


# -------------------------------------------------------------------------------------- complaints
def _add_complaints(sub) -> None:
    p = sub.add_parser(
        "complaints",
        help="read any complaint export through a column mapping: clean masked Parquet, rejected rows, counts",
        description="Read a complaint export (CSV or .xlsx) into the canonical complaint fields, mask personal data, "
        "and write complaints.parquet, rejected.csv, by_category.csv and by_unit.csv. Every record is either "
        "clean or rejected with its line and reason.",
    )
    p.add_argument("--input", type=Path, required=True, metavar="FILE", help="the export (CSV in any usual encoding, or .xlsx)")
    p.add_argument("--mapping", metavar="MAP", default=None,
                   help="a mapping name in mappings/ (e.g. cfpb_classic, cfpb_snake) or a path to a mapping YAML; "
                   "default: the bank's own layout (the Chinese headers of sources/complaints.yaml)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")


def _cmd_complaints(args) -> int:
    from analysis.complaints.load import load_complaints, write_outputs
    from analysis.complaints.mapping import load_mapping

    mapping = load_mapping(args.mapping)
    res = load_complaints(args.input, mapping)
    for w in res.warnings:
        _warn(w)
    paths = write_outputs(res, args.out)
    print(f"{args.input.name} ({mapping.name}: {mapping.title}): {res.summary()}")
    for kind, n in sorted(res.reasons.items(), key=lambda kv: -kv[1]):
        print(f"  rejected: {n:>6,}  {kind}")
    print(f"written to {args.out}: " + ", ".join(p.name for p in paths.values()))
    return 0


# -------------------------------------------------------------------------------------- workorders
def _add_workorders(sub) -> None:
    p = sub.add_parser(
        "workorders",
        help="work orders (工单/办件/任务) per unit: on-time closure, overdue, processing days, escalations, halved on a baseline",
        description="Read a work-order export (CSV in UTF-8 or GB18030, or .xlsx; a file or a folder) through "
        "sources/workorders.yaml or a mapping, and write one row per unit and one for the whole organisation "
        "for the orders received in PERIOD. With --baseline: the median processing time against the baseline's, "
        "with a bootstrap interval, and whether it is halved beyond noise.",
    )
    p.add_argument("--input", type=Path, required=True, metavar="PATH", help="a work-order export, or a folder of them")
    p.add_argument("--period", required=True, help="2014, 2014-06 or 2014Q2 (1 January to the end of that month)")
    p.add_argument("--baseline", default=None, metavar="P0", help="the baseline period (e.g. 2013)")
    p.add_argument("--mapping", default=None, metavar="M", help="a work-order mapping YAML (or its name in mappings/) for a foreign layout")
    p.add_argument("--targets", type=Path, default=config.TARGETS_DIR / "campaign-2016.yaml",
                   help="targets file whose approval_time target gives the factor 'halved' is judged on (default: %(default)s)")
    p.add_argument("--factor", type=float, default=None, help="judge against this ratio instead of the targets file's")
    p.add_argument("--draws", type=int, default=2000, help="bootstrap resamples (default: %(default)s)")
    p.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="bootstrap seed (default: %(default)s)")
    p.add_argument("--processed", type=Path, default=None, metavar="DIR",
                   help="also write the clean orders to DIR/workorders.parquet, for `targets --processed DIR` (a mapped layout included)")
    p.add_argument("--total-label", default="全部", help="unit_id of the whole organisation's row (e.g. 全局, 全院; default: %(default)s)")
    p.add_argument("--out", type=Path, required=True, metavar="OUT.csv", help="output CSV (UTF-8 with BOM; rejected rows beside it)")


def _cmd_workorders(args) -> int:
    import pandas as pd

    from analysis.periods import Period
    from analysis.workorders import summarise
    from analysis.workorders_load import read_orders

    period = Period.parse(args.period)
    baseline = Period.parse(args.baseline) if args.baseline else None
    factor = args.factor
    if baseline is not None and factor is None:
        from analysis.targets import load_targets

        found = [t.factor for t in load_targets(args.targets).targets if t.metric == "approval_time" and t.rule == "baseline_times"]
        if not found:
            raise InputError(f"{args.targets}: no approval_time target with rule baseline_times to take the factor from; give --factor")
        factor = found[0]
    if args.draws < 100:
        raise InputError(f"--draws {args.draws}: at least 100 resamples are needed for a 95% interval")
    res = read_orders(args.input, args.mapping)
    summary = summarise(res.table, period, baseline, factor=factor, draws=args.draws, seed=args.seed,
                        total_label=args.total_label)
    out = summary.table.copy()
    if "halved" in out:
        out["halved"] = out["halved"].map({True: "true", False: "false"})
    for c in ("unit_id",):  # a cell starting with = + - @ is a formula in Excel
        out[c] = out[c].where(~out[c].str.match(r"^[=+\-@]", na=False), "'" + out[c])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False, encoding="utf-8-sig")
    rejected_path = args.out.with_name(args.out.stem + ".rejected.csv")
    if len(res.rejected):
        from analysis.rejects import Rejected

        collected = Rejected(args.input)
        collected.add_frame(res.rejected)
        collected.write_csv(rejected_path)  # the one rejected-rows writer: cells neutralised
    elif rejected_path.exists():
        rejected_path.unlink()  # a stale file from an earlier run would mislead
    print(res.report.line())
    if args.processed is not None:
        clean_path = config.table_path("workorders", args.processed)
        clean_path.parent.mkdir(parents=True, exist_ok=True)
        res.table.to_parquet(clean_path, index=False)
        print(f"clean orders in {clean_path}")
    for w in summary.warnings:
        _warn(w)
    if len(res.rejected):
        _warn(f"{len(res.rejected):,} rows rejected, each with its file, line and reason: {rejected_path}")
    total = summary.table[summary.table["scope"] == "all"].iloc[0]

    def num(x, fmt: str) -> str:
        return "—" if x is None or x is pd.NA or x != x else format(x, fmt)

    line = (f"{period.label}: {total['orders']:,} orders, {total['closed']:,} closed, on time {num(total['on_time_share'], '.1%')} of those due, "
            f"{total['overdue_open']:,} open and overdue, median {num(total['median_days'], '.2f')} days")
    if baseline is not None:
        line += (f"; {baseline.label} median {num(total['baseline_median_days'], '.2f')} days, ratio {num(total['median_ratio'], '.2f')} "
                 f"(95% interval {num(total['ratio_low'], '.2f')}-{num(total['ratio_high'], '.2f')}), halved: {'yes' if total['halved'] else 'no'} (factor {factor:g})")
    print(line)
    print(f"{len(out) - 1} units + the whole organisation in {args.out}")
    return 0


# ----------------------------------------------------------------------------------------- inspect
def _add_inspect(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="look at a new export: encoding, delimiter, header, each column's guessed field, what would be rejected; draft a mapping",
        description="Read FILE as the loaders do and report its encoding, delimiter, header row, every column with the "
        "field it is guessed to be (and why) and sample values (masked), and what a load would reject and why. "
        "With --out, write a draft mapping YAML that `complaints --mapping` accepts once checked.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the export (CSV in any usual encoding, or .xlsx)")
    p.add_argument("--source", default=None, metavar="NAME", help="the source it is an export of (a name in sources/, e.g. complaints); default: guessed from the headers")
    p.add_argument("--out", type=Path, default=None, metavar="MAPPING.yaml", help="write the draft mapping here (default: print it)")


def _cmd_inspect(args) -> int:
    from analysis.inspect import inspect_file

    info = inspect_file(args.file, args.source)
    print(info.text())
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(info.draft_yaml(), encoding="utf-8")
        print(f"draft mapping in {args.out}")
    else:
        print()
        print(info.draft_yaml(), end="")
    return 0


COMMANDS = ["generate", "clean", "run", "calls", "waits", "ratings", "peers", "complaints", "inspect", "targets", "score", "template", "workorders"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        globals()[f"_add_{name.replace('-', '_')}"](sub)
    return parser


def _log_traceback(command: str) -> Path:
    """Write the current exception's traceback to a log file; return its path. The folder is
    ``$ANALYSIS_LOG_DIR`` or ``<temp>/analysis-logs``."""
    import datetime as dt
    import os
    import tempfile
    import traceback

    folder = Path(os.environ.get("ANALYSIS_LOG_DIR") or Path(tempfile.gettempdir()) / "analysis-logs")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}-{command}-{os.getpid()}.log"
    path.write_text(f"python -m analysis {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = globals()[f"_cmd_{args.command.replace('-', '_')}"]
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except InputError as exc:
        from analysis.masking import mask_text  # a message can quote a cell (a header search shows the first row)

        print(f"error: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:
        # Not bad input: a bug. Say so, and keep the traceback for the report.
        log = _log_traceback(args.command)
        print(f"internal error (a bug, not a problem with the input): {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"the traceback is in {log}", file=sys.stderr)
        return 1
