"""``cxlab init DIR``: a project folder that works outside this repository.

A project holds the team's catalogue, data and reports; its notebooks are the ones packaged with cxlab
unless it keeps its own copies in ``notebooks/`` (``cxlab init --notebooks``, then edit them)::

    DIR/
      cxlab-project.yml        marks the project (cxlab finds it from any folder below)
      README.md                the commands, for the team
      catalog/                 the starter catalogue: metrics, triggers, hypotheses, segments, campaigns
      data/mapping.example.yml how your own tables become the canonical ones (docs/mapping.md)
      reports/                 one folder per run, and index.html
      .gitignore               generated data and reports stay out of version control
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cxlab.errors import CxlabError
from cxlab.paths import PROJECT_FILE, bundled

PROJECT_YML = """\
# A cxlab project (made by `cxlab init`). cxlab looks for this file in the working folder and above it,
# so every command below works from anywhere inside the project; relative paths start here.
# Notebooks: the project's own notebooks/ if it has report notebooks (NN-name.ipynb) there,
# else the ones packaged with cxlab (`cxlab list` shows which).
cxlab_project: 1
"""

README = """\
# {name}: cross-sell / upsell analyses with cxlab

Everything runs from this folder (or any folder inside it).

```bash
cxlab demo-data --clients 20000      # demo data with planted effects, into data/demo
cxlab run                            # every report on data/demo, into reports/ (open reports/index.html)
cxlab run 00 02 --data data/mapping.example.yml   # chosen reports on data described by a mapping
cxlab list                           # the reports and their parameters (-p NAME=VALUE)
cxlab validate data/warehouse.yml    # check your own data against the canonical contract
cxlab catalog check                  # check the cards in catalog/
cxlab diff reports/RUN_A reports/RUN_B   # which headline figures moved between two runs
```

- `catalog/`: the team's metrics, triggers, hypotheses, segments and campaigns (YAML cards). Edit them;
  `cxlab catalog check` says what is wrong and where.
- `data/`: data folders (parquet/csv), `.duckdb` files, or mappings (`.yml`) from your warehouse's own
  table and column names onto cxlab's canonical tables — start from `data/mapping.example.yml`.
- `reports/`: one folder per run (HTML reports, executed notebooks, `results.json`, a manifest of the
  data fingerprint and library versions) and `index.html` over all runs.
"""

GITIGNORE = """\
# generated: demo data and rendered reports
data/demo/
reports/
"""

MAPPING_EXAMPLE = """\
# A data mapping: how your own tables and columns become cxlab's canonical tables (docs/mapping.md).
#   cxlab validate data/mapping.example.yml             check it against the canonical contract
#   cxlab run --data data/mapping.example.yml           run the reports on it
# This example reads the demo data (make it first: `cxlab demo-data`), whose tables already have the
# canonical names, and shows each form once. For a warehouse, point `source` at it and put your names on
# the right-hand side, e.g. for PostgreSQL:
#   source: postgres://analyst@dwh.example.com/crm      (a password: postgres://analyst:${PGPASSWORD}@…)
#   clients: {from: crm.customer, columns: {client_id: cust_no, joined_at: signup_date}}
source: demo                  # relative to this file: data/demo
tables:
  clients:
    from: clients             # a table of the source (schema.table on a warehouse)
    columns:                  # canonical column: your column (a plain name, case matters) or SQL
      client_id: client_id
      joined_at: CAST(joined_at AS TIMESTAMP)
    # the table's other columns (age, region…) follow unchanged, for rules; `others: false` drops them
  products:
    from: products            # no columns: the table as it is
  holdings:
    from: holdings
  events:
    from: events
    where: event_type IS NOT NULL   # an SQL filter
  communications:
    sql: SELECT * FROM communications   # or a whole SELECT giving the canonical columns
  consents:
    from: consents
"""


@dataclass(frozen=True)
class Project:
    """What ``init`` laid out."""

    root: Path
    written: list[Path]
    notebooks: Path


def init(folder: str | Path, notebooks: bool = False) -> Project:
    """Lay out a project in ``folder`` (created if missing; an existing one may hold other files).

    Nothing is overwritten: if any file or folder it would write exists, a CxlabError lists them and
    nothing is written. With ``notebooks``, the packaged report notebooks are copied into
    ``notebooks/`` for the team to edit (the project then runs its own copies).
    """
    root = Path(folder).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise CxlabError(f"cxlab init: {root} exists and is not a folder.")
    catalog = bundled("catalog")
    texts = {
        PROJECT_FILE: PROJECT_YML,
        "README.md": README.format(name=root.name),
        ".gitignore": GITIGNORE,
        "data/mapping.example.yml": MAPPING_EXAMPLE,
    }
    folders = ["catalog", "data", "reports"] + (["notebooks"] if notebooks else [])
    taken = [name for name in [*texts, "catalog"] + (["notebooks"] if notebooks else []) if (root / name).exists()]
    if taken:
        raise CxlabError(f"cxlab init: {root} already has {', '.join(taken)}; choose an empty folder "
                         "(nothing was written).")
    written: list[Path] = []
    for name in folders:
        (root / name).mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (root / name).write_text(text, encoding="utf-8")
        written.append(root / name)
    shutil.copytree(catalog, root / "catalog", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".*", "__pycache__"))
    written.append(root / "catalog")
    source = bundled("notebooks")
    if notebooks:
        for nb in sorted(source.glob("[0-9][0-9]-*.ipynb")):
            shutil.copyfile(nb, root / "notebooks" / nb.name)
        written.append(root / "notebooks")
    return Project(root, written, root / "notebooks" if notebooks else source)
