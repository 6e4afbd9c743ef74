"""Export logged calls as CSV or JSON (shared by `history` and the history screen).

`Exporter` writes chunk by chunk, so exporting a million calls never holds them all;
`write` is the one-shot form, with the same output.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from promptcache_tui.core.records import PUBLIC_FIELDS, CallRecord
from promptcache_tui.core.sanitize import json_safe, one_line, redact

FORMATS = ("csv", "json")


class Exporter:
    """Writes calls to `out` in `fmt`, a chunk at a time; `close()` ends the document."""

    def __init__(self, out: IO[str], fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}")
        self.out = out
        self.fmt = fmt
        self.count = 0
        self._csv: csv.DictWriter[str] | None = None
        if fmt == "csv":
            self._csv = csv.DictWriter(out, fieldnames=list(PUBLIC_FIELDS), lineterminator="\n")
            self._csv.writeheader()

    def write(self, records: Iterable[CallRecord]) -> None:
        """Add calls."""
        for record in records:
            row = record.public()
            if row["error"]:
                row["error"] = redact(row["error"])  # rows logged before errors were redacted
            if self._csv is not None:
                # CSV has no escapes: control characters (a hostile model id, client or
                # session) are written visibly, as the tables show them.
                self._csv.writerow(
                    {
                        k: "" if v is None else one_line(v) if isinstance(v, str) else v
                        for k, v in row.items()
                    }
                )
            else:
                # Byte for byte what json.dump(list, indent=2) writes, one item at a time
                # (with the escapes json_safe adds: the same JSON value, inert in a terminal).
                item = json.dumps(row, indent=2, ensure_ascii=False).replace("\n", "\n  ")
                self.out.write(("[\n  " if self.count == 0 else ",\n  ") + json_safe(item))
            self.count += 1

    def close(self) -> int:
        """Finish the document (a JSON list needs its `]`); return the number of calls."""
        if self.fmt == "json":
            self.out.write("[]\n" if self.count == 0 else "\n]\n")
        return self.count


def write(records: Iterable[CallRecord], out: IO[str], fmt: str) -> int:
    """Write in `fmt` ('csv' or 'json')."""
    exporter = Exporter(out, fmt)
    exporter.write(records)
    return exporter.close()


def open_private(path: Path) -> IO[str]:
    """Open `path` for writing text, created (or truncated) with mode 0600 like the database:
    an export holds prompts' costs and errors, which are nobody else's business."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a file that existed keeps its old mode otherwise
        return open(fd, "w", encoding="utf-8", newline="")
    except BaseException:
        os.close(fd)
        raise


def format_for(path: str, default: str = "csv") -> str:
    """The export format a file name asks for (.json or .csv), else `default`."""
    lowered = path.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    return default
