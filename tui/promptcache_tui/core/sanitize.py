"""Text from outside, made safe: for a terminal (no live control characters), and for disk
and screen (no secrets).

Everything that comes from outside the program (files, answers, model ids, API error
messages, context names, environment values) goes through `terminal_safe` or `one_line`
before it is printed or shown, and every message goes through `redact` before it is
stored or printed. JSON output is the exception: it stays exact (json.dumps escapes
control characters itself).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

REDACTED = "[redacted]"
# Unicode "format" characters that reorder or hide text on screen (Trojan Source): shown
# escaped. Other format characters (zero-width joiners in emoji, soft hyphens) stay.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Separators that end a line on screen without being a newline.
_LINE_BREAKS = frozenset("\u2028\u2029\x85")
_LAYOUT = frozenset("\n\t")
_MIN_SECRET = 8  # shorter "keys" (test dummies such as "any") would redact ordinary words

# An Anthropic key (sk-ant-api03-..., sk-ant-admin01-...), wherever it appears.
_ANTHROPIC_KEY = re.compile(r"sk-ant-[A-Za-z0-9_\-]+")
# The credential of an Authorization header, or an x-api-key / api_key value in a message.
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{6,}")
_KEY_VALUE = re.compile(
    r"(?i)\b(x-api-key|api[-_]?key|authorization|access[-_]?token)([\"']?\s*[:=]\s*[\"']?)"
    r"(?!bearer\b|basic\b)[A-Za-z0-9._~+/=\-]{6,}"
)

_secrets: set[str] = set()


_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _visible(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]  # as Python writes them: \n reads better than \x0a
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _is_control(ch: str) -> bool:
    return ch in _BIDI or ch in _LINE_BREAKS or unicodedata.category(ch) == "Cc"


def terminal_safe(text: str, *, layout: bool = True) -> str:
    """`text` with every control character made visible (`ESC` -> `\\x1b`).

    With `layout` (the default), newlines and tabs stay as they are: for answers and
    documents shown as text blocks. `\\r` is always made visible: it would let text
    overwrite what was printed before it on the same line.
    """
    if text.isascii() and text.isprintable():
        return text  # the common case, checked at C speed
    keep = _LAYOUT if layout else frozenset()
    return "".join(_visible(ch) if ch not in keep and _is_control(ch) else ch for ch in text)


def one_line(text: str) -> str:
    """`text` safe for one line of a terminal: newlines and tabs made visible too.

    For names, model ids, table cells and error messages.
    """
    return terminal_safe(text, layout=False)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def json_safe(document: str) -> str:
    """A serialized JSON document with DEL, C1 controls, bidi overrides and line separators
    written as `\\uXXXX` escapes: the same JSON value, exactly, but inert in a terminal.

    (json.dumps escapes only U+0000-U+001F; these characters can only occur inside strings.)
    """
    if document.isascii() and "\x7f" not in document:
        return document
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def register_secret(value: str | None) -> None:
    """Remember a secret (the configured API key) that `redact` removes from then on."""
    if value and len(value.strip()) >= _MIN_SECRET:
        _secrets.add(value.strip())


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with secrets replaced by `[redacted]`.

    Removed: the registered secrets and any in `secrets`, anything shaped like an Anthropic
    key (`sk-ant-...`), bearer and basic credentials, and the value of an `x-api-key`,
    `api_key` or `authorization` pair. Apply it to every message before it is stored,
    exported or printed.
    """
    if not text:
        return text
    extra = {s.strip() for s in secrets if s and len(s.strip()) >= _MIN_SECRET}
    # Longest first, so a key that contains another is removed whole.
    for secret in sorted(_secrets | extra, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _ANTHROPIC_KEY.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def safe_message(text: str) -> str:
    """A message from outside, for one line of a terminal: redacted, then `one_line`."""
    return one_line(redact(text))
