"""Text from outside: control characters made visible, secrets redacted."""

from __future__ import annotations

import pytest

from promptcache_tui.core import sanitize
from promptcache_tui.core.sanitize import one_line, redact, register_secret, terminal_safe

HOSTILE = (
    "\x1b]0;pwned\x07",  # set the window title
    "\x1b[2J",  # clear the screen
    "\x1b]52;c;cHduZWQ=\x07",  # OSC 52: write the clipboard
    "\x9b2J",  # an 8-bit CSI
    "\x1bP+q\x1b\\",  # DCS
)


@pytest.mark.parametrize("attack", HOSTILE)
def test_no_escape_sequence_survives(attack: str) -> None:
    shown = terminal_safe(f"before {attack} after")
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert shown.startswith("before ") and shown.endswith(" after")


def test_the_escape_is_shown_not_dropped() -> None:
    assert terminal_safe("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"


def test_layout_keeps_newlines_and_tabs_but_not_carriage_returns() -> None:
    assert terminal_safe("a\n\tb") == "a\n\tb"
    assert terminal_safe("paid $100\rpaid $1") == "paid $100\\rpaid $1"


def test_one_line_makes_every_break_visible() -> None:
    assert one_line("a\nb\tc\u2028d") == "a\\nb\\tc\\u2028d"


def test_bidi_overrides_are_shown_and_ordinary_unicode_kept() -> None:
    assert terminal_safe("abc\u202edcba") == "abc\\u202edcba"
    text = "café 日本 👩\u200d💻 naïve"
    assert terminal_safe(text) == text


def test_plain_text_is_returned_unchanged() -> None:
    text = "What was the story about?"
    assert terminal_safe(text) is text


def test_anthropic_keys_and_bearer_tokens_are_redacted() -> None:
    key = "sk-ant-api03-AbCdEf0123456789_xyz-QQ"
    message = f"400 invalid x-api-key: Bearer {key}"
    out = redact(message)
    assert key not in out and "AbCdEf" not in out
    assert out == "400 invalid x-api-key: Bearer [redacted]"
    assert redact("Authorization: Bearer abc.def-ghi_jkl") == "Authorization: Bearer [redacted]"
    assert redact('{"x-api-key": "abcdef123456"}') == '{"x-api-key": "[redacted]"}'
    assert redact("api_key=zzzzzzzzzz") == "api_key=[redacted]"


def test_the_configured_key_is_redacted_whatever_its_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sanitize, "_secrets", set())
    odd = "my-gateway-token-42"
    assert odd in redact(f"echo {odd}")
    register_secret(odd)
    assert redact(f"echo {odd} and {odd}") == "echo [redacted] and [redacted]"
    assert redact(f"echo {odd}x") == "echo [redacted]x"
    assert redact("a short word", ["short"]) == "a short word"  # under 8: not a secret


def test_ordinary_words_are_not_redacted() -> None:
    text = "authorization failed (401): check ANTHROPIC_API_KEY"
    assert redact(text) == text
    assert redact("the bearer of bad news") == "the bearer of bad news"
