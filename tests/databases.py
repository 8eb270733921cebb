"""Databases for class-mode tests: a SQLite file, and a throwaway PostgreSQL cluster.

The cluster is made with Debian's own binaries (``apt-get install postgresql``) in a temporary
directory, listens on a free loopback port only, and is stopped and deleted after the session.
``initdb`` refuses to run as root, so under root it runs as the ``postgres`` user. Without the
binaries the PostgreSQL tests skip, except under CI, where they must run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import free_port

BACKENDS = ("sqlite", "postgresql")


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _as_owner(command: list[str]) -> list[str]:
    """Run as the ``postgres`` user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a private PostgreSQL; yield a SQLAlchemy URL of its ``postgres`` database."""
    bin_dir = _binaries()
    if bin_dir is None:
        message = ("PostgreSQL binaries not found (/usr/lib/postgresql/*/bin); "
                   "apt-get install postgresql")
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must test PostgreSQL", pytrace=False)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="losslab-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "data", root / "server.log"
    port = free_port()
    subprocess.run(
        _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                   "-E", "UTF8", "--no-sync", "--no-instructions"]),
        check=True, capture_output=True,
    )
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off")
    started = subprocess.run(
        _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                   "-w", "-t", "60", "start"]),
        capture_output=True, text=True,
    )
    try:
        if started.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n"
                               f"{log.read_text() if log.exists() else ''}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                       "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(backend: str, workdir: Path, cluster_url: str | None) -> Iterator[str]:
    """An empty database on ``backend``; yield its URL, drop it after."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'classes.sqlite'}"
        return
    import sqlalchemy as sa

    name = "t_" + secrets.token_hex(6)
    admin = sa.create_engine(cluster_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        yield cluster_url.rsplit("/", 1)[0] + "/" + name
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, then a PostgreSQL database."""
    cluster = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with fresh_database(request.param, tmp_path, cluster) as url:
        yield url
