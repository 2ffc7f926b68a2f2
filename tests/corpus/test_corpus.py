"""The bad-input corpus: each broken input, run through the CLI, gives a clear message naming what and
where, a non-zero exit code, no traceback, and no new or changed report."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlab import cli
from tests.signals import as_from_a_terminal

ROOT = Path(__file__).resolve().parents[2]
T = pd.Timestamp


def clean() -> dict[str, pd.DataFrame]:
    return {
        "clients": pd.DataFrame({"client_id": [1, 2, 3], "joined_at": [T("2024-01-05")] * 3, "region": ["север", "south east", "юг"]}),
        "products": pd.DataFrame({"product_id": ["cc", "dep"], "product_line": ["credit_card", "deposit"]}),
        "holdings": pd.DataFrame({"client_id": [1, 2], "product_id": ["cc", "dep"], "opened_at": [T("2024-02-01"), T("2024-03-01")],
                                  "closed_at": [pd.NaT, T("2024-06-01")], "value": [10.0, 20.0]}),
        "events": pd.DataFrame({"client_id": [1, 3], "event_type": ["login", "зарплата"], "ts": [T("2024-04-01"), T("2024-05-01")],
                                "value": [np.nan, 3000.0]}),
        "communications": pd.DataFrame({"client_id": [1, 2], "campaign_id": ["c1", "c1"], "channel": ["email"] * 2,
                                        "sent_at": [T("2024-06-01")] * 2, "group": ["treatment", "control"]}),
    }


def data(tmp: Path, change: Callable[[dict[str, pd.DataFrame]], None] = lambda t: None) -> Path:
    folder = tmp / "data"
    folder.mkdir(exist_ok=True)
    tables = clean()
    change(tables)
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def card(tmp: Path, kind: str, text: str) -> Path:
    folder = tmp / "catalog"
    shutil.copytree(ROOT / "catalog", folder, dirs_exist_ok=True)
    (folder / kind / "broken.yml").write_text(text, encoding="utf-8")
    return folder


def card_bytes(tmp: Path, kind: str, raw: bytes) -> Path:
    folder = card(tmp, kind, "")
    (folder / kind / "broken.yml").write_bytes(raw)
    return folder


def _run_trigger(tmp: Path, text: str) -> list[str]:
    return ["run", "02", "--data", str(data(tmp)), "--out", str(tmp / "out"), "-p", f"catalog={card(tmp, 'triggers', text)}",
            "-p", "trigger=broken", "-p", "model_sample=0"]


TRIGGER = "name: broken\ntitle: B\nrule: \"{rule}\"\ntarget_line: credit_card\nwindow_days: 30\n"


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[Path], list[str]]
    code: int
    message: str  # a regex the error must match


def _set(table: str, column: str, values) -> Callable[[dict], None]:
    def change(t: dict) -> None:
        t[table][column] = values
    return change


def _truncate(tmp: Path) -> list[str]:
    folder = data(tmp)
    raw = (folder / "events.parquet").read_bytes()
    (folder / "events.parquet").write_bytes(raw[: len(raw) // 2])
    return ["validate", str(folder)]


def _latin1(tmp: Path) -> list[str]:
    folder = data(tmp, _set("events", "event_type", ["login", "café"]))
    events = pd.read_parquet(folder / "events.parquet")
    (folder / "events.parquet").unlink()
    events.to_csv(folder / "events.csv", index=False, encoding="latin-1")
    return ["validate", str(folder)]


def _rule_check(tmp: Path, rule: str) -> list[str]:
    return ["catalog", "check", "--catalog", str(card(tmp, "triggers", TRIGGER.format(rule=rule))), "--data", str(data(tmp))]


def _garbage(tmp: Path) -> list[str]:
    folder = data(tmp)
    (folder / "clients.parquet").write_bytes(b"this is not a parquet file")
    return ["validate", str(folder)]


CASES = [
    Case("missing table", lambda p: ["validate", str(data(p, lambda t: t.pop("events")))], 2, r"events: table_missing"),
    Case("missing column", lambda p: ["validate", str(data(p, lambda t: t["holdings"].pop("opened_at")))], 2, r"holdings.opened_at: column_missing"),
    Case("wrong type", lambda p: ["validate", str(data(p, _set("events", "ts", ["2024-04-01", "soon"])))], 2, r"events.ts: wrong_type"),
    Case("duplicate keys", lambda p: ["validate", str(data(p, _set("products", "product_id", ["cc", "cc"])))], 2, r"products.product_id: duplicate_key"),
    Case("orphan foreign key", lambda p: ["validate", str(data(p, _set("holdings", "client_id", [1, 99])))], 2, r"holdings.client_id: orphan_foreign_key.*99"),
    Case("closed before opened", lambda p: ["validate", str(data(p, _set("holdings", "closed_at", [pd.NaT, T("2023-01-01")])))], 2, r"holdings.closed_at: date_order"),
    Case("dates in the future", lambda p: ["validate", str(data(p, _set("events", "ts", [T("2024-04-01"), T("2099-01-01")])))], 2, r"events.ts: date_in_future"),
    Case("empty table", lambda p: ["validate", str(data(p, lambda t: t.__setitem__("events", t["events"].iloc[:0])))], 2, r"events: table_empty"),
    Case("NaN and inf values", lambda p: ["validate", str(data(p, _set("holdings", "value", [np.inf, np.nan])))], 2, r"holdings.value: non_finite"),
    Case("group outside the allowed set", lambda p: ["validate", str(data(p, _set("communications", "group", ["treatment", "holdout"])))], 2, r"communications.group: value_not_allowed"),
    Case("null in a required column", lambda p: ["validate", str(data(p, _set("events", "event_type", [None, "login"])))], 2, r"events.event_type: null_in_required"),
    Case("ids of different types", lambda p: ["validate", str(data(p, _set("holdings", "client_id", ["1", "2"])))], 2, r"holdings.client_id: wrong_type"),
    Case("truncated parquet", _truncate, 2, r"table 'events': cannot read .*events.parquet"),
    Case("unreadable file", _garbage, 2, r"table 'clients': cannot read .*clients.parquet"),
    Case("data folder that does not exist", lambda p: ["validate", str(p / "nowhere")], 2, r"nowhere does not exist"),
    Case("run on a missing folder", lambda p: ["run", "00", "--data", str(p / "nowhere"), "--out", str(p / "out")], 2, r"nowhere does not exist"),
    Case("run on broken data", lambda p: ["run", "00", "--data", str(data(p, lambda t: t.pop("clients"))), "--out", str(p / "out")], 2, r"clients: table_missing"),
    Case("unknown notebook", lambda p: ["run", "99-nothing", "--data", str(data(p)), "--out", str(p / "out")], 2, r"unknown notebook '99-nothing'"),
    Case("unknown parameter", lambda p: ["run", "00", "--data", str(data(p)), "--out", str(p / "out"), "-p", "min_cel_size=3"], 2, r"unknown parameter.*min_cel_size.*min_cell_size"),
    Case("parameter of the wrong type", lambda p: ["run", "00", "--data", str(data(p)), "--out", str(p / "out"), "-p", "min_cell_size=ten"], 2, r"parameter 'min_cell_size' must be int"),
    Case("parameter without a value", lambda p: ["run", "00", "--data", str(data(p)), "-p", "lang"], 2, r"-p expects name=value"),
    Case("run id with a slash", lambda p: ["run", "00", "--data", str(data(p)), "--out", str(p / "out"), "--run-id", "a/b"], 2, r"--run-id 'a/b'"),
    Case("card with a YAML syntax error", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", "name: [unclosed\n"))], 2, r"broken.yml:2:1: YAML syntax error"),
    Case("card with an unknown field", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="holds('deposit')") + "colour: red\n"))], 2, r"broken.yml:6: field 'colour': unknown field"),
    Case("rule with an unknown column", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="agee > 3"))), "--data", str(data(p))], 2, r"broken.yml: unknown column 'agee'"),
    Case("rule calling __import__", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="__import__('os')")))], 2, r"broken.yml:3: field 'rule': unknown function '__import__'"),
    Case("rule with attribute access", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="a.__class__ = 1")))], 2, r"qualified name 'a.__class__' is not allowed"),
    Case("rule with a lambda", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="lambda x: x")))], 2, r"cannot parse rule"),
    Case("rule with a subquery", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="(SELECT 1) = 1")))], 2, r"'Subquery' is not allowed"),
    Case("card not UTF-8", lambda p: ["catalog", "check", "--catalog", str(card_bytes(p, "triggers", TRIGGER.format(rule="holds('deposit')").replace("title: B", "title: caf\xe9").encode("latin-1")))],
         2, r"broken.yml:2: not UTF-8 encoded \(byte 0xe9"),
    Case("card with a key given twice", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="holds('deposit')") + "window_days: 90\n"))],
         2, r"broken.yml:6: field 'window_days' is given twice \(first on line 5\)"),
    Case("rule nested 3,000 parentheses deep", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="(" * 3000 + "holds('deposit')" + ")" * 3000)))],
         2, r"broken.yml:3: field 'rule': the rule nests deeper than 100 levels"),
    Case("rule of 500 ANDs", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule=" AND ".join(["holds('deposit')"] * 500))))],
         2, r"broken.yml:3: field 'rule': the rule (nests deeper than 100 levels|is [0-9,]+ characters long)"),
    Case("rule of 300 NOTs", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="NOT " * 300 + "holds('deposit')")))],
         2, r"broken.yml:3: field 'rule': the rule nests deeper than 100 levels"),
    Case("window of a billion days", lambda p: ["catalog", "check", "--catalog", str(card(p, "triggers", TRIGGER.format(rule="holds('deposit')").replace("window_days: 30", "window_days: 999999999")))],
         2, r"broken.yml:5: field 'window_days': Input should be less than or equal to 3660"),
    Case("window longer than the data", lambda p: _run_trigger(p, TRIGGER.format(rule="holds('deposit')").replace("window_days: 30", "window_days: 3000")),
         2, r"broken.yml:5: field 'window_days': no monthly snapshot .* a snapshot needs a 3000-day window .* too short for the trigger's window"),
    Case("target line missing from the data", lambda p: _run_trigger(p, TRIGGER.format(rule="holds('deposit')").replace("credit_card", "yachts")),
         2, r"broken.yml:4: field 'target_line': product line 'yachts' is not in the data \(its lines: credit_card, deposit\)"),
    Case("csv not UTF-8", _latin1, 2, r"table 'events': cannot read .*events.csv: not UTF-8 encoded: byte 0xe9 on line 3"),
    Case("values of 1e308", lambda p: ["validate", str(data(p, _set("holdings", "value", [1e308, -1e308])))], 2,
         r"holdings.value: value_too_large — 2 rows with a magnitude above 1e\+15"),
    Case("-p data= beside --data", lambda p: ["run", "00", "--data", str(data(p)), "--out", str(p / "out"), "-p", f"data={p}"], 2,
         r"-p data=… is not accepted: give the data source with --data"),
    Case("rule comparing a count with text", lambda p: _rule_check(p, "count_events('login', 30) >= 'many'"), 2,
         r"broken.yml: the expression COUNT_EVENTS\('login', 30\) >= 'many' combines values that do not go together "
         r"\(COUNT_EVENTS\('login', 30\) is a number; 'many' is text\)"),
    Case("rule with a window of 10^11 days", lambda p: _rule_check(p, "count_events('login', 99999999999) > 1"), 2,
         r"'days' must be a whole number of days from 0 to 36,600"),
    Case("catalogue folder that does not exist", lambda p: ["catalog", "list", "--catalog", str(p / "nowhere")], 2, r"catalogue folder .*nowhere does not exist"),
    Case("unknown dataset", lambda p: ["import", "netflix", str(p), "--out", str(p / "x")], 2, r"unknown dataset 'netflix'"),
    Case("import source missing", lambda p: ["import", "hillstrom", str(p / "none.csv"), "--out", str(p / "x")], 2, r"none.csv does not exist"),
    Case("too few demo clients", lambda p: ["demo-data", "--out", str(p / "demo"), "--clients", "10"], 2, r"--clients must be at least 500"),
    Case("demo chunks too small", lambda p: ["demo-data", "--out", str(p / "demo"), "--clients", "1000", "--chunk-clients", "10"], 2,
         r"--chunk-clients must be at least 500"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_clearly(case, tmp_path, capsys):
    reports = tmp_path / "out"
    reports.mkdir()
    (reports / "earlier").mkdir()
    (reports / "earlier" / "00-data-overview.html").write_text("earlier report")
    code = cli.main(case.args(tmp_path))
    err = capsys.readouterr().err
    assert code == case.code, err
    assert "error: " in err and "Traceback" not in err, err
    assert re.search(case.message, err, re.S), err
    assert not re.search(r"\bcx_f\d|\bx_sum\b|\bnot_control\b|Ibis|DuckDB|Conversion Error", err), "internal names in: " + err
    assert sorted(p.name for p in reports.iterdir()) == ["earlier"], "a report folder was written"
    assert (reports / "earlier" / "00-data-overview.html").read_text() == "earlier report"


def test_timezone_aware_timestamps_are_read_as_utc_and_said_so(tmp_path, capsys):
    """Aware timestamps (here Moscow time, beside naive ones in other tables) become naive UTC on connect."""
    from cxlab.data.connect import connect

    def aware(t: dict) -> None:
        t["events"]["ts"] = pd.to_datetime(t["events"]["ts"]).dt.tz_localize("Europe/Moscow")

    folder = data(tmp_path, aware)
    src = connect(folder)
    assert src.normalised == ["events.ts"]
    assert src.con.execute(src.table("events").ts.min()) == T("2024-03-31 21:00")  # 00:00 in Moscow is 21:00 UTC
    code = cli.main(["run", "00", "--data", str(folder), "--out", str(tmp_path / "out"), "--run-id", "tz", "--quiet"])
    err = capsys.readouterr().err
    assert code == 0 and "events.ts: timezone_normalised" in err, err
    manifest = (tmp_path / "out" / "tz" / "manifest.json").read_text()
    assert '"timezone_normalised": [\n      "events.ts"' in manifest


def test_cyrillic_and_spaces_in_names_and_values_work(tmp_path, capsys):
    folder = data(tmp_path)
    assert cli.main(["validate", str(folder)]) == 0
    assert cli.main(["run", "00", "--data", str(folder), "--out", str(tmp_path / "отчёты с пробелом"), "--quiet"]) == 0
    assert list((tmp_path / "отчёты с пробелом").glob("*/00-data-overview.html"))


def test_a_campaign_that_does_not_exist_is_refused_before_anything_is_written(small_demo, tmp_path, capsys):
    code = cli.main(["run", "04", "--data", str(small_demo), "--out", str(tmp_path), "--run-id", "x", "-p", "campaign=nope", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "no campaign 'nope'" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_sigint_mid_notebook_leaves_no_partial_report(small_demo, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cxlab", "run", "02", "--data", str(small_demo), "--out", str(tmp_path),
                             "--run-id", "cut", "--quiet"], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                            preexec_fn=as_from_a_terminal)
    deadline = time.time() + 60
    while time.time() < deadline and not list((tmp_path / "cut").glob(".*.part.ipynb")):
        time.sleep(0.2)
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    names = sorted(p.name for p in (tmp_path / "cut").iterdir())
    assert names == ["manifest.json"], names
    assert '"status": "interrupted"' in (tmp_path / "cut" / "manifest.json").read_text()


def test_two_runs_into_one_reports_folder_at_once(small_demo, tmp_path):
    args = [sys.executable, "-m", "cxlab", "run", "00", "--data", str(small_demo), "--out", str(tmp_path), "--quiet"]
    procs = [subprocess.Popen(args + ["--run-id", rid], stderr=subprocess.PIPE, text=True, cwd=ROOT) for rid in ("one", "two")]
    deadline = time.time() + 60
    while time.time() < deadline and not (tmp_path / "one").exists():
        time.sleep(0.1)
    same = subprocess.run(args + ["--run-id", "one"], capture_output=True, text=True, cwd=ROOT)
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert same.returncode == 2 and "already exists" in same.stderr
    index = (tmp_path / "index.html").read_text()
    assert "one/00-data-overview.html" in index and "two/00-data-overview.html" in index
