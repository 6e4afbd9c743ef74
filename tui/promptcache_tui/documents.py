"""Reading user files into context blocks: UTF-8 text only, with clear refusals."""

from __future__ import annotations

from pathlib import Path

from promptcache_tui.core.errors import UserError

MAX_FILE_BYTES = 20 * 1024 * 1024


class DocumentError(UserError, ValueError):
    """A file cannot become a context block; the message is one line for the user."""


def read_text_file(path: Path | str, *, limit: int = MAX_FILE_BYTES) -> str:
    """The file's text, or DocumentError if it is missing, binary, not UTF-8, empty or huge."""
    path = Path(path)
    if not path.exists():
        raise DocumentError(f"file not found: {path}")
    if path.is_dir():
        raise DocumentError(f"{path} is a directory, not a file")
    try:
        # Read at most limit + 1 bytes: a device or a pipe reports no size, or a wrong one.
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            size = max(path.stat().st_size, len(data))
            raise DocumentError(
                f"{path} is too large ({size / 1_048_576:.1f} MB; the limit is "
                f"{limit // 1_048_576} MB)"
            )
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if b"\x00" in data:
        raise DocumentError(f"{path} looks binary (it contains NUL bytes); give a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{path} is not UTF-8 text (bad byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc
    if not text.strip():
        raise DocumentError(f"{path} is empty")
    return text
