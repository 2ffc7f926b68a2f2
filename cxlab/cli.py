"""The ``cxlab`` command: a thin layer over the runner, the catalogue and the data layer.

Exit codes: 0 ok, 1 a notebook failed, 2 bad input or usage, 130 interrupted. Errors are one clear
message on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from cxlab.errors import CxlabError, ParameterError


def _params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ParameterError(f"-p expects name=value, got {pair!r}.")
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out


def cmd_list(args: argparse.Namespace) -> int:
    from cxlab.runner.params import list_notebooks

    for nb in list_notebooks():
        print(nb.name)
        for p in nb.parameters.values():
            print(f"    {p.name}: {p.type} = {p.default!r}    # {p.help}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from cxlab.data.connect import connect
    from cxlab.data.validate import validate
    from cxlab.paths import resolve_source

    src = connect(resolve_source(args.source))
    report = validate(src)
    for failure in report.warnings:
        print(f"warning: {failure.message}", file=sys.stderr)
    _raise_with_origins(report, src)
    print(f"{args.source}: valid ({len(report.warnings)} warning(s)).")
    return 0


def _raise_with_origins(report, src) -> None:  # noqa: ANN001
    """raise_for_errors, adding for a mapped source where each failing column comes from in the mapping."""
    from cxlab.errors import DataError

    try:
        report.raise_for_errors()
    except DataError as e:
        mapping = getattr(src, "mapping", None)
        if mapping is None:
            raise
        origins = sorted({f"{f.table}{'.' + f.column if f.column else ''} ← {mapping.origin(f.table, f.column)}"
                          for f in report.errors})
        raise DataError(f"{e}\nin the mapping:\n  " + "\n  ".join(origins)) from None


def cmd_init(args: argparse.Namespace) -> int:
    from cxlab.project import init

    project = init(args.folder, notebooks=args.notebooks)
    print(f"cxlab project in {project.root} (notebooks: {project.notebooks})")
    print(f"next: cd {project.root} && cxlab demo-data && cxlab run   (README.md lists the commands)")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from cxlab.paths import resolve
    from cxlab.runner.diff import diff_runs, render

    def run_folder(text: str) -> Path:
        path = Path(text).expanduser()
        if path.is_dir():
            return path
        return resolve(Path(args.out) / text)  # a bare run id: reports/RUN_ID

    print(render(diff_runs(run_folder(args.run_a), run_folder(args.run_b)), lang=args.lang, limit=args.limit))
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from cxlab.data.demo import generate
    from cxlab.paths import resolve

    out = resolve(args.out)
    generate(out, clients=args.clients, seed=args.seed, chunk_clients=args.chunk_clients, progress=not args.quiet)
    print(f"demo data written to {out}")
    return 0


def cmd_simulate_send(args: argparse.Namespace) -> int:
    from cxlab.data.demo.simulate import simulate_send
    from cxlab.paths import resolve

    truth = simulate_send(resolve(args.data), resolve(args.audience), resolve(args.out), args.uplift, seed=args.seed,
                          sent_at=args.sent_at or "", product_line=args.product_line or "")
    print(f"campaign {truth['campaign']} sent on {truth['sent_at']} to {sum(truth['people'].values()):,} people "
          f"({truth['extra_contracts']:,} planted contracts); data written to {resolve(args.out)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from cxlab.data.adapters import import_dataset
    from cxlab.paths import resolve

    summary = import_dataset(args.name, Path(args.src), resolve(args.out))
    print(summary)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from cxlab.runner import raise_for_failures, run

    result = run(args.notebooks, data=args.data, out=args.out, params=_params(args.param), run_id=args.run_id,
                 lang=args.lang, progress=not args.quiet, jobs=args.jobs, force=args.force)
    for nb in result.notebooks:
        page = nb.html or nb.notebook
        where = result.folder / page if page else f"— {nb.error}"
        how = f"reused from {nb.reused_from}" if nb.reused_from else f"{nb.seconds:6.1f}s"
        print(f"{nb.status:>7}  {nb.name}  {how}  {where}")
    print(f"index: {result.folder.parent / 'index.html'}")
    raise_for_failures(result)
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from cxlab.catalog import check_catalog, list_hypotheses, load_catalog
    from cxlab.errors import CardError
    from cxlab.paths import resolve

    folder = resolve(args.catalog)
    if args.action == "check":
        problems = check_catalog(folder)
        if not problems and args.data:
            from cxlab.catalog.load import check_against
            from cxlab.data.connect import connect
            from cxlab.paths import resolve_source

            problems = check_against(load_catalog(folder), connect(resolve_source(args.data)))
        if problems:
            raise CardError("catalogue problems:\n  " + "\n  ".join(problems))
        print(f"{folder}: all cards valid.")
        return 0
    frame = list_hypotheses(load_catalog(folder))
    print(frame.to_string(index=False) if len(frame) else "no hypotheses")
    return 0


def cmd_aa(args: argparse.Namespace) -> int:
    from cxlab.analyses.aa import aa
    from cxlab.catalog import load_catalog
    from cxlab.data.connect import connect
    from cxlab.paths import resolve, resolve_source

    result = aa(connect(resolve_source(args.data)), load_catalog(resolve(args.catalog)), args.campaign,
                runs=args.runs, alpha=args.alpha, seed=args.seed, progress=not args.quiet)
    print(f"A/A on campaign '{result.campaign}': {result.runs} fake splits, alpha {result.alpha}")
    print(result.table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    bad = result.table[result.table.status == "inflated"]
    if len(bad):
        print(f"false positives above alpha for: {', '.join(bad.metric)} — check the unit of analysis and the windows, "
              "or the sample is too small for the test's approximation")
    return 0


def _arms(text: str) -> dict[str, float]:
    out = {}
    for part in (p for p in text.split(",") if p.strip()):
        if "=" not in part:
            raise ParameterError(f"--arms expects arm=share pairs separated by commas (control=0.2,email=0.8), got {text!r}")
        arm, share = part.split("=", 1)
        try:
            out[arm.strip()] = float(share)
        except ValueError:
            raise ParameterError(f"--arms: the share of '{arm.strip()}' is not a number: {share!r}") from None
    return out


def cmd_audience(args: argparse.Namespace) -> int:
    from datetime import date

    from cxlab.analyses.launch import audience, launch
    from cxlab.catalog import load_catalog
    from cxlab.data.connect import connect
    from cxlab.paths import resolve, resolve_source

    def day(text: str | None, name: str) -> date | None:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError:
            raise ParameterError(f"{name} must be a date YYYY-MM-DD, got {text!r}") from None

    folder = resolve(args.catalog)
    src, cat = connect(resolve_source(args.data)), load_catalog(folder)
    common = dict(segment=args.segment or "", trigger=args.trigger or "", lookalike=args.lookalike or "",
                  scored=resolve(args.scored) if args.scored else "", snapshot=day(args.snapshot, "--snapshot"),
                  arms=_arms(args.arms), salt=args.salt, control_arm=args.control_arm, channel=args.channel,
                  stratify=args.stratify, hypothesis=args.hypothesis, primary=args.primary,
                  pre_period_days=args.pre_period_days, cap_messages=args.cap_messages, cap_days=args.cap_days)
    if args.dry_run:
        a = audience(src, cat, args.name, **common)
    else:
        done = launch(src, cat, args.name, out=resolve(args.out), catalog_dir=folder, title=args.title,
                      analysis=args.analysis, window_days=args.window_days, launch_date=day(args.launch_date, "--launch-date"),
                      owner=args.owner, approved_by=args.approved_by, approved_at=day(args.approved_at, "--approved-at"),
                      exclusive=not args.not_exclusive, replace=args.replace, **common)
        a = done.audience
    print(f"campaign {a.campaign}: {a.target.label} at {a.snapshot}, {a.size:,} people to split")
    print(a.waterfall.to_string(index=False))
    print(a.split.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"SRM p = {a.srm.p_value:.4f}" + (" (flagged)" if a.srm.flagged else ""))
    for w in a.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not args.dry_run:
        for kind, path in done.files.items():
            print(f"{kind:>8}  {path}")
        print(f"    card  {done.card}")
    return 0


def cmd_arbitrate(args: argparse.Namespace) -> int:
    from cxlab.analyses.launch import Launch, arbitrate, launch_policy, load_policy
    from cxlab.catalog import load_catalog
    from cxlab.data.connect import connect
    from cxlab.paths import resolve, resolve_source

    folder = resolve(args.catalog)
    policy_file = Path(args.policy)
    if not policy_file.exists() and (folder / "policies" / f"{args.policy}.yml").exists():
        policy_file = folder / "policies" / f"{args.policy}.yml"
    src, cat, policy = connect(resolve_source(args.data)), load_catalog(folder), load_policy(policy_file)
    launches: list[Launch] = []
    if args.dry_run:
        arb = arbitrate(src, cat, policy)
    else:
        arb, launches = launch_policy(src, cat, policy, out=resolve(args.out), owner=args.owner,
                                      approved_by=args.approved_by, catalog_dir=folder, replace=args.replace)
    print(f"policy {policy.name} at {policy.snapshot}:")
    print(arb.table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if len(arb.costs):
        print(arb.costs.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    for done in launches:
        for w in done.audience.warnings:
            print(f"warning: {done.audience.campaign}: {w}", file=sys.stderr)
        print(f"{done.audience.campaign:>16}  {done.files['parquet']}  card {done.card}")
    return 0


class _WithDefaults(argparse.HelpFormatter):
    """Help that ends with the option's default, unless the help already says it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or action.default in (None, argparse.SUPPRESS, False)
                or action.option_strings == [] and action.nargs in ("*", "?") and not action.default):
            return text
        return text + " (default: %(default)s)"


def parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests can check usage without running anything)."""
    from cxlab import __version__

    fmt = _WithDefaults  # every option's help ends with its default
    p = argparse.ArgumentParser(prog="cxlab", description=__doc__.splitlines()[0].replace("``", ""), formatter_class=fmt,
                                epilog="`cxlab COMMAND --help` describes a command's options.")
    p.add_argument("--version", action="version", version=f"cxlab {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(interrupted="the run folder keeps what finished; earlier reports are untouched.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    _add = sub.add_parser
    sub.add_parser = lambda *a, **k: _add(*a, formatter_class=fmt, **k)  # type: ignore[method-assign]

    s = sub.add_parser("list", help="notebooks and their parameters")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("validate", help="check a data source against the canonical contract")
    s.add_argument("source", help="a data folder, a .duckdb file, a mapping .yml or a URL")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("demo-data", help="generate the demo data with planted ground truth")
    s.add_argument("--out", default="data/demo", help="folder to write the tables and truth.json to")
    s.add_argument("--clients", type=int, default=50_000, help="clients to generate")
    s.add_argument("--seed", type=int, default=7, help="random seed (same seed and chunk size → same files)")
    s.add_argument("--chunk-clients", type=int, default=100_000,
                   help="clients generated and written at once: bounds the memory (100,000 is about 1 GB)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_demo_data, interrupted="no demo folder was written; an earlier one is untouched.")

    s = sub.add_parser("simulate-send", help="demo: the CRM sends a launched campaign (communications, planted uplift)")
    s.add_argument("--data", default="data/demo", help="the demo folder the audience was launched on (left unchanged)")
    s.add_argument("--audience", required=True, help="the audience parquet written by cxlab audience")
    s.add_argument("--out", required=True, help="a new data folder: the demo after the send")
    s.add_argument("--uplift", type=float, default=0.03, help="chance a treated person opens an extra contract of the line")
    s.add_argument("--seed", type=int, default=1, help="seed of the planted outcomes")
    s.add_argument("--sent-at", default=None, help="send day, YYYY-MM-DD (default: the launch date)")
    s.add_argument("--product-line", default=None, help="default: the launched target's line")
    s.set_defaults(func=cmd_simulate_send, interrupted="no folder was written.")

    s = sub.add_parser("import", help="map a real dataset into the canonical tables")
    s.add_argument("name", help="hillstrom, bank, online-retail or cdnow")
    s.add_argument("src", help="the dataset file")
    s.add_argument("--out", required=True, help="folder to write the canonical tables to, e.g. data/hillstrom")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("run", help="run notebooks into HTML reports")
    s.add_argument("notebooks", nargs="*", help="notebook names (default: all), e.g. 00 or 02-trigger-backtest")
    s.add_argument("--data", default="data/demo", help="data folder, .duckdb file, mapping .yml or URL")
    s.add_argument("--out", default="reports", help="reports folder")
    s.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a notebook parameter, repeatable (`cxlab list` shows them); card parameters left empty "
                        "pick the card that applies to the data (none by default)")
    s.add_argument("--run-id", default=None, help="name of the run folder (default: the start time, YYYYMMDD-HHMMSS)")
    s.add_argument("--lang", default=None, choices=("en", "ru"),
                   help="report language for every notebook (default: each notebook's lang parameter, en)")
    s.add_argument("--jobs", "-j", type=int, default=1,
                   help="notebooks run at once, each on its own kernel reused across its notebooks; the cores "
                        "are shared between them (results are the same as with 1)")
    s.add_argument("--force", action="store_true",
                   help="run every notebook again, even those unchanged since an earlier run in --out "
                        "(default: reuse them)")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("init", help="lay out a project folder: catalog/, data/, reports/, a README")
    s.add_argument("folder", help="the project folder (created if missing)")
    s.add_argument("--notebooks", action="store_true",
                   help="also copy the report notebooks into notebooks/ to edit (default: use the packaged ones)")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("diff", help="headline figures that moved between two runs, and whether beyond their intervals")
    s.add_argument("run_a", help="the earlier run: a folder, or a run id in --out")
    s.add_argument("run_b", help="the later run")
    s.add_argument("--out", default="reports", help="reports folder the run ids are in")
    s.add_argument("--lang", default="en", choices=("en", "ru"), help="language of the summary")
    s.add_argument("--limit", type=int, default=40, help="figures to list at most")
    s.set_defaults(func=cmd_diff)

    s = sub.add_parser("aa", help="A/A test of the retrospective pipeline on history (fake splits)")
    s.add_argument("--data", default="data/demo", help="data folder, .duckdb file or URL")
    s.add_argument("--campaign", required=True, help="campaign card name (`ls catalog/campaigns`)")
    s.add_argument("--catalog", default="catalog", help="catalogue folder")
    s.add_argument("--runs", type=int, default=1000, help="fake splits")
    s.add_argument("--alpha", type=float, default=0.05, help="significance level of each fake test")
    s.add_argument("--seed", type=int, default=1, help="seed of the fake splits")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_aa)

    s = sub.add_parser("audience", help="launch a campaign: its audience split by a salt, written with its registered card")
    s.add_argument("name", help="the campaign's name (its files and card are named after it)")
    s.add_argument("--data", default="data/demo", help="data folder, .duckdb file or URL")
    s.add_argument("--catalog", default="catalog", help="catalogue folder")
    target = s.add_mutually_exclusive_group(required=True)
    target.add_argument("--segment", help="a segment card: its clients after exclusive assignment and the waterfall")
    target.add_argument("--trigger", help="a trigger card: the clients it fires for at the snapshot")
    target.add_argument("--lookalike", help="a product line: its non-holders who look like its holders (05's look-alikes)")
    target.add_argument("--scored", help="07's scored audience (its score_out parquet): its selected clients, top share by "
                        "predicted uplift with the negative group excluded")
    s.add_argument("--snapshot", required=True, help="the day the audience is evaluated at, YYYY-MM-DD")
    s.add_argument("--arms", default="control=0.2,treatment=0.8", help="arm=share pairs, e.g. control=0.2,email=0.8")
    s.add_argument("--control-arm", default="control", help="the arm held out (not contacted)")
    s.add_argument("--salt", required=True, help="the randomisation salt: new text for every campaign")
    s.add_argument("--stratify", default="", help="'', segment, deciles (of the primary metric) or column:NAME")
    s.add_argument("--hypothesis", default="", help="the hypothesis card: metrics, baseline and MDE")
    s.add_argument("--primary", default="", help="the primary metric when no hypothesis is given")
    s.add_argument("--channel", default="email", help="the channel clients must be opted in to")
    s.add_argument("--cap-messages", type=int, default=2, help="contact cap: clients with this many communications in --cap-days are left out")
    s.add_argument("--cap-days", type=int, default=30, help="contact cap window in days")
    s.add_argument("--pre-period-days", type=int, default=90, help="days before the snapshot for the balance check and CUPED")
    s.add_argument("--window-days", type=int, default=0, help="outcome window (default: the trigger's or the metric's)")
    s.add_argument("--analysis", default="plain", choices=("plain", "cuped"), help="the registered primary analysis")
    s.add_argument("--title", default="", help="the campaign card's title")
    s.add_argument("--launch-date", default=None, help="first send, YYYY-MM-DD (default: the snapshot)")
    s.add_argument("--owner", default="", help="who owns the campaign")
    s.add_argument("--approved-by", default="", help="who signed the launch off (required to write)")
    s.add_argument("--approved-at", default=None, help="when, YYYY-MM-DD (default: the launch date)")
    s.add_argument("--out", default="audiences", help="folder of audience files")
    s.add_argument("--replace", action="store_true", help="replace this campaign's existing audience and card")
    s.add_argument("--not-exclusive", action="store_true", help="allow clients also in other exclusive campaigns")
    s.add_argument("--dry-run", action="store_true", help="compute and check the audience; write nothing")
    s.set_defaults(func=cmd_audience, interrupted="nothing was written; files appear whole or not at all.")

    s = sub.add_parser("arbitrate", help="several campaigns under a contact policy: who gets what, one audience each")
    s.add_argument("policy", help="a policy card (catalog/policies/NAME.yml, or its NAME)")
    s.add_argument("--data", default="data/demo", help="data folder, .duckdb file or URL")
    s.add_argument("--catalog", default="catalog", help="catalogue folder")
    s.add_argument("--out", default="audiences", help="folder of audience files")
    s.add_argument("--owner", default="", help="who owns the campaign")
    s.add_argument("--approved-by", default="", help="who signed the launch off (required to write)")
    s.add_argument("--replace", action="store_true", help="replace existing audiences and cards of these campaigns")
    s.add_argument("--dry-run", action="store_true", help="report the arbitration; write nothing")
    s.set_defaults(func=cmd_arbitrate, interrupted="audience files appear whole or not at all.")

    s = sub.add_parser("catalog", help="check or list catalogue cards")
    s.add_argument("action", choices=("check", "list"), help="check: validate every card; list: hypotheses")
    s.add_argument("--catalog", default="catalog", help="catalogue folder")
    s.add_argument("--data", default=None, help="also check rule columns against this data source")
    s.set_defaults(func=cmd_catalog)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, map errors to exit codes."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    if args.command is None:  # a bare `cxlab`: the help, not an error
        parser().print_help()
        return 0
    if args.debug:
        os.environ["CXLAB_DEBUG"] = "1"  # kernels keep their stderr too
    previous = _on_sigterm()
    try:
        return args.func(args)
    except Terminated:
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        print(f"terminated: {args.interrupted}", file=sys.stderr)
        return 143
    except CxlabError as e:
        if args.debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # the cancelled cell's task, not news to the user
        print(f"interrupted: {args.interrupted}", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a run records itself as interrupted and cleans up."""


def _on_sigterm():
    """Turn SIGTERM into :class:`Terminated` (main thread only); returns the previous handler."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise Terminated()

    return signal.signal(signal.SIGTERM, handler)
