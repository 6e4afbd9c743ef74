"""New names for copies and demos: the first free one, still a valid name."""

from __future__ import annotations

from promptcache_tui.core.context import MAX_NAME_LENGTH, unused_name, validate_name


def test_the_base_name_when_free_then_numbered() -> None:
    assert unused_name("alice-demo", set()) == "alice-demo"
    assert unused_name("alice-demo", {"alice-demo"}) == "alice-demo-2"
    assert unused_name("alice-demo", {"Alice-Demo", "alice-demo-2"}) == "alice-demo-3"
    assert unused_name("notes-copy", {"notes-copy"}, sep="") == "notes-copy2"


def test_a_long_name_is_shortened_to_stay_valid() -> None:
    at = "n" * MAX_NAME_LENGTH  # at the limit
    assert unused_name(at, set()) == at
    numbered = unused_name(at, {at})
    assert len(numbered) == MAX_NAME_LENGTH and numbered.endswith("-2")
    assert validate_name(numbered)
    under = "n" * (MAX_NAME_LENGTH - 1)
    assert unused_name(under, {under}).endswith("-2")


def test_a_context_name_from_an_observed_group_name() -> None:
    from promptcache_tui.core.context import name_from

    assert name_from("review-bot/1.0 · You review pull requests for a…", "x") == (
        "you-review-pull-requests-for-a"
    )
    # The tool count and the client go; what is left is cut at a word, within the limit.
    assert name_from("claude-cli/2.1.197 · You are Claude Code (24 tools)", "x") == (
        "you-are-claude-code"
    )
    words = "Abcd " * 20
    assert name_from(f"bot · {words}", "x", limit=14) == "abcd-abcd-abcd"  # at the limit
    assert name_from(f"bot · {words}", "x", limit=13) == "abcd-abcd"  # just under
    assert name_from(f"bot · {words}", "x", limit=15) == "abcd-abcd-abcd"  # just over
    assert name_from("bot · «»", "call-7") == "call-7"  # nothing usable: the fallback
