"""Server-side SQL kept in versioned files: `<app>/sql/<function>.<migration>.sql`.

Each file holds one `CREATE OR REPLACE FUNCTION` and is loaded by the migration its name gives
(`labeling/sql/labeling_claim.0009.sql` by labeling 0009). Once committed a file is never
edited: a change is a new file named for a new migration, which loads it (and whose reverse
loads the previous file). The migration pins the file's SHA-256, so an edited file stops every
migrate; tests/test_sql_files.py checks that the database holds each function's newest file.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name, the migration that loads it
FILE_NAME = re.compile(r"^(?P<function>\w+)\.(?P<migration>\d{4})\.sql$")
_BODY = re.compile(r"\bAS\s+\$(?P<tag>\w*)\$(?P<body>.*)\$(?P=tag)\$", re.S)


class SqlFileChanged(Exception):
    """A loaded file no longer matches the SHA-256 its migration pinned."""


def sql_file(app_label: str, name: str, *, sha256: str) -> str:
    """The text of `<app_label>/sql/<name>`, refused when it is not the text the calling
    migration was written for."""
    path = ROOT / app_label / "sql" / name
    text = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    if digest != sha256:
        raise SqlFileChanged(
            f"{path.relative_to(ROOT)} was edited after its migration pinned it (sha256 "
            f"{digest}): put the change in a new file named for a new migration that loads it"
        )
    return text


def function_body(text: str) -> str:
    """The dollar-quoted body of a file's function: what pg_proc.prosrc holds once loaded."""
    match = _BODY.search(text)
    if match is None:
        raise ValueError("no dollar-quoted function body")
    return match["body"]
