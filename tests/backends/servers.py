"""Throwaway engines for the equality tests: a local PostgreSQL server in a temporary folder, and the
demo's tables copied into it.

The server listens on a free loopback port (its unix socket sits in the same temporary folder), trusts
local connections, skips fsync (nothing here needs to survive a crash) and is stopped and removed when
the context ends, even on failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import ibis

from cxlab.data.connect import Source

#: Where Debian's postgresql package puts the server programs (initdb is not on PATH there).
DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
USER = "cxlab"
DATABASE = "cxlab"


def postgres_bindir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, else the newest Debian install, else None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    dirs = sorted(glob.glob(DEBIAN_BINDIRS), key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0)
    return Path(dirs[-1]) if dirs else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as the ``postgres`` system user."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL server and yield the ``postgres://`` URL of an empty database."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server programs not found (apt-get install postgresql)")
    with tempfile.TemporaryDirectory(prefix="cxlab-pg-") as tmp:
        root = Path(tmp)
        data, sock, log = root / "data", root / "socket", root / "server.log"
        sock.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for p in (root, sock):
                os.chown(p, user.pw_uid, user.pw_gid)
        port = _free_port()
        _run([str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--encoding=UTF8",
              "--locale=C", "--no-sync"], "initdb")
        options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " \
                  "-c full_page_writes=off -c shared_buffers=128MB -c work_mem=64MB -c max_connections=20"
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
             f"pg_ctl start (log: {log})")
        try:
            admin = ibis.postgres.connect(host="127.0.0.1", port=port, user=USER, database="postgres")
            admin.raw_sql(f"CREATE DATABASE {DATABASE}")
            admin.disconnect()
            yield f"postgres://{USER}@127.0.0.1:{port}/{DATABASE}"
        finally:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], "pg_ctl stop")


def load_into_postgres(src: Source, url: str) -> None:
    """Copy every table of a DuckDB source into the database at ``url`` (CREATE TABLE, then COPY of CSV)."""
    import psycopg

    with tempfile.TemporaryDirectory(prefix="cxlab-csv-") as tmp, psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as pg:
        for name, table in src.tables.items():
            columns = table.schema().to_sqlglot_column_defs("postgres")
            pg.execute(f'CREATE TABLE "{name}" ({", ".join(c.sql("postgres") for c in columns)})')
            path = Path(tmp) / f"{name}.csv"
            src.con.raw_sql(f"COPY (SELECT * FROM \"{name}\") TO '{path}' (HEADER, DELIMITER ',')")
            cols = ", ".join(f'"{c}"' for c in table.columns)
            with pg.cursor().copy(f'COPY "{name}" ({cols}) FROM STDIN (FORMAT csv, HEADER true)') as copy, open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
        pg.execute("ANALYZE")
