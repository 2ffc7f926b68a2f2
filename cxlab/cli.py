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

    report = validate(connect(resolve_source(args.source)))
    for failure in report.warnings:
        print(f"warning: {failure.message}", file=sys.stderr)
    report.raise_for_errors()
    print(f"{args.source}: valid ({len(report.warnings)} warning(s)).")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from cxlab.data.demo import generate
    from cxlab.paths import resolve

    out = resolve(args.out)
    generate(out, clients=args.clients, seed=args.seed, chunk_clients=args.chunk_clients, progress=not args.quiet)
    print(f"demo data written to {out}")
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
                 lang=args.lang, progress=not args.quiet)
    for nb in result.notebooks:
        where = result.folder / (nb.html or nb.notebook or "")
        print(f"{nb.status:>6}  {nb.name}  {nb.seconds:6.1f}s  {where}")
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


def parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests can check usage without running anything)."""
    p = argparse.ArgumentParser(prog="cxlab", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(interrupted="the run folder keeps what finished; earlier reports are untouched.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="notebooks and their parameters")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("validate", help="check a data source against the canonical contract")
    s.add_argument("source", help="a data folder, a .duckdb file or a URL")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("demo-data", help="generate the demo data with planted ground truth")
    s.add_argument("--out", default="data/demo")
    s.add_argument("--clients", type=int, default=50_000)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--chunk-clients", type=int, default=100_000,
                   help="clients generated and written at once: bounds the memory (default 100,000: about 1 GB)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_demo_data, interrupted="no demo folder was written; an earlier one is untouched.")

    s = sub.add_parser("import", help="map a real dataset into the canonical tables")
    s.add_argument("name", help="hillstrom, bank, online-retail or cdnow")
    s.add_argument("src", help="the dataset file")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("run", help="run notebooks into HTML reports")
    s.add_argument("notebooks", nargs="*", help="notebook names (default: all), e.g. 00 or 02-trigger-backtest")
    s.add_argument("--data", default="data/demo", help="data folder, .duckdb file or URL")
    s.add_argument("--out", default="reports", help="reports folder")
    s.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    s.add_argument("--run-id", default=None)
    s.add_argument("--lang", default=None, choices=("en", "ru"))
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("aa", help="A/A test of the retrospective pipeline on history (fake splits)")
    s.add_argument("--data", default="data/demo")
    s.add_argument("--campaign", required=True, help="campaign card name")
    s.add_argument("--catalog", default="catalog")
    s.add_argument("--runs", type=int, default=1000)
    s.add_argument("--alpha", type=float, default=0.05)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_aa)

    s = sub.add_parser("catalog", help="check or list catalogue cards")
    s.add_argument("action", choices=("check", "list"))
    s.add_argument("--catalog", default="catalog")
    s.add_argument("--data", default=None, help="also check rule columns against this data source")
    s.set_defaults(func=cmd_catalog)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, map errors to exit codes."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
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
