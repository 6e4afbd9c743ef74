"""The model catalog: shipped data, aliases and the user's override file."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptcache_tui.core.catalog import CatalogError, load_catalog


def test_shipped_catalog_has_prices_minimums_and_sources() -> None:
    catalog = load_catalog()
    sonnet = catalog.get("claude-sonnet-4-6")
    assert sonnet is not None
    assert (sonnet.input, sonnet.output, sonnet.min_cache_tokens) == (3.0, 15.0, 1024)
    assert sonnet.source and sonnet.as_of
    assert catalog.min_cache_tokens("claude-haiku-4-5") == 4096
    assert catalog.min_cache_tokens("claude-opus-5") == 512
    assert catalog.multipliers.cache_write_1h == 2.0


def test_aliases_resolve_to_the_model() -> None:
    catalog = load_catalog()
    info = catalog.get("claude-sonnet-4-5-20250929")
    assert info is not None and info.id == "claude-sonnet-4-5"
    assert info.deprecated_on is not None and info.deprecated_on.isoformat() == "2026-11-30"


def test_user_file_overrides_and_adds(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text(
        "[models.claude-sonnet-5]\ninput = 4.0\noutput = 20.0\n"
        "[models.my-proxy-model]\ninput = 1.0\noutput = 2.0\nmin_cache_tokens = 256\n"
    )
    catalog = load_catalog(tmp_path)
    sonnet5 = catalog.get("claude-sonnet-5")
    assert sonnet5 is not None
    assert (sonnet5.input, sonnet5.output, sonnet5.min_cache_tokens) == (4.0, 20.0, 1024)
    assert catalog.min_cache_tokens("my-proxy-model") == 256


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("[models.x\ninput = 1", "not valid TOML"),
        ("[models.x]\ninput = 'three'", "input must be a number from 0 to 10000"),
        ("[models.x]\nmin_cache_tokens = 1.5", "min_cache_tokens must be a whole number"),
        ("[models.x]\ndeprecated_on = 'soon'", "deprecated_on must be a date"),
    ],
)
def test_malformed_user_file_is_one_clear_error(
    tmp_path: Path, content: str, fragment: str
) -> None:
    (tmp_path / "models.toml").write_text(content)
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path)
    assert fragment in str(info.value)
    assert "models.toml" in str(info.value)
