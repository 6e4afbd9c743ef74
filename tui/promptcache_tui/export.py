"""Export logged calls as CSV or JSON (shared by `history` and the history screen).

`Exporter` writes chunk by chunk, so exporting a million calls never holds them all;
`write` is the one-shot form, with the same output.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO

from promptcache_tui.core.records import PUBLIC_FIELDS, CallRecord

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
            if self._csv is not None:
                self._csv.writerow({k: "" if v is None else v for k, v in row.items()})
            else:
                # Byte for byte what json.dump(list, indent=2) writes, one item at a time.
                item = json.dumps(row, indent=2, ensure_ascii=False).replace("\n", "\n  ")
                self.out.write(("[\n  " if self.count == 0 else ",\n  ") + item)
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


def format_for(path: str, default: str = "csv") -> str:
    """The export format a file name asks for (.json or .csv), else `default`."""
    lowered = path.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    return default
