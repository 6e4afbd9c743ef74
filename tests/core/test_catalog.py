"""The model catalog: shipped data, aliases, lifecycle and the user's override file."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from promptcache_tui.core.catalog import CatalogError, Multipliers, load_catalog


def test_shipped_catalog_has_prices_minimums_and_sources() -> None:
    catalog = load_catalog()
    sonnet = catalog.get("claude-sonnet-4-6")
    assert sonnet is not None
    assert (sonnet.input, sonnet.output, sonnet.min_cache_tokens) == (3.0, 15.0, 1024)
    assert sonnet.source and sonnet.as_of
    assert catalog.min_cache_tokens("claude-haiku-4-5") == 4096
    assert catalog.min_cache_tokens("claude-opus-5") == 512
    assert catalog.multipliers.cache_write_1h == 2.0
    assert catalog.batch == 0.5
    for model_id in catalog.names():  # every entry says where its facts come from
        info = catalog.get(model_id)
        assert info is not None and info.source and info.as_of


# (model, input, 5m write, 1h write, read, output): the December 2026 table of caching-facts.md.
DECEMBER_PRICES = [
    ("claude-sonnet-5", 2, 2.5, 4, 0.2, 10),
    ("claude-fable-5", 10, 12.5, 20, 1.0, 50),
    ("claude-mythos-5", 10, 12.5, 20, 1.0, 50),
    ("claude-fable-5-1", 10, 12.5, 20, 0.25, 50),
    ("claude-mythos-5-1", 10, 12.5, 20, 0.25, 50),
    ("claude-opus-5-5", 4, 5, 8, 0.2, 20),
    ("claude-sonnet-5-5", 2, 2.5, 4, 0.1, 10),
    # Older models keep the pricing page's table (Haiku 3 is not at the default multipliers).
    ("claude-opus-4-8", 5, 6.25, 10, 0.5, 25),
    ("claude-haiku-4-5", 1, 1.25, 2, 0.1, 5),
    ("claude-3-haiku-20240307", 0.25, 0.3, 0.5, 0.03, 1.25),
]


@pytest.mark.parametrize(("model", "base", "w5", "w1", "read", "out"), DECEMBER_PRICES)
def test_each_model_has_its_own_cache_prices(
    model: str, base: float, w5: float, w1: float, read: float, out: float
) -> None:
    catalog = load_catalog()
    info = catalog.get(model)
    assert info is not None
    assert (info.input, info.output) == (base, out)
    default = catalog.multipliers
    assert info.cache_price("write_5m", default) == pytest.approx(w5)
    assert info.cache_price("write_1h", default) == pytest.approx(w1)
    assert info.cache_price("read", default) == pytest.approx(read)


def test_several_current_models_read_below_a_tenth() -> None:
    catalog = load_catalog()
    assert catalog.multipliers_for("claude-fable-5-1").cache_read == pytest.approx(0.025)
    assert catalog.multipliers_for("claude-sonnet-5-5").cache_read == pytest.approx(0.05)
    assert catalog.multipliers_for("claude-opus-5-5").cache_read == pytest.approx(0.05)
    # A model without its own prices is billed at the default multipliers.
    assert catalog.multipliers_for("claude-sonnet-4-6") == catalog.multipliers
    assert catalog.multipliers_for("claude-not-catalogued") == catalog.multipliers


@pytest.mark.parametrize("model", ["claude-haiku-5-5", "claude-fable-5-2", "claude-mythos-5-2"])
def test_models_without_an_official_price_stay_unpriced(model: str) -> None:
    info = load_catalog().get(model)
    assert info is not None and not info.priced
    assert info.cache_price("read", Multipliers()) is None


def test_new_versions_are_separate_models_not_aliases() -> None:
    catalog = load_catalog()
    for old, new in [
        ("claude-fable-5", "claude-fable-5-1"),
        ("claude-mythos-5", "claude-mythos-5-1"),
        ("claude-3-5-sonnet-20240620", "claude-3-5-sonnet-20241022"),
    ]:
        assert catalog.cache_id(old) != catalog.cache_id(new)
        assert new not in (catalog.get(old).aliases if catalog.get(old) else ())


def test_aliases_resolve_to_the_model() -> None:
    catalog = load_catalog()
    info = catalog.get("claude-sonnet-4-5-20250929")
    assert info is not None and info.id == "claude-sonnet-4-5"
    assert info.retires_on == date(2026, 11, 30)
    assert info.deprecated_on == info.retires_on  # the older name still reads
    assert catalog.cache_id("claude-haiku-4-5-20251001") == "claude-haiku-4-5"
    assert catalog.cache_id("claude-unknown-7") == "claude-unknown-7"


def test_windows_capabilities_and_fast_mode_are_data() -> None:
    catalog = load_catalog()
    opus = catalog.get("claude-opus-5")
    assert opus is not None
    assert opus.context_window == 1_000_000
    assert (opus.fast_mode, opus.fast_input, opus.fast_output) == (True, 10.0, 50.0)
    assert opus.system_messages is True
    assert opus.thinking == ("adaptive",)
    assert opus.inference_geo_us == 1.1
    assert {m for m in catalog.names() if catalog.get(m).system_messages} == {  # type: ignore[union-attr]
        "claude-opus-4-8",
        "claude-opus-5",
        "claude-fable-5",
        "claude-mythos-5",
    }
    assert catalog.get("claude-sonnet-4-6").thinking == ("enabled", "adaptive")  # type: ignore[union-attr]
    assert catalog.get("claude-haiku-4-5").context_window == 200_000  # type: ignore[union-attr]
    assert catalog.get("claude-haiku-4-5").inference_geo_us is None  # type: ignore[union-attr]
    # Unknown stays unknown: no thinking or fast-mode facts for Sonnet 5.
    sonnet5 = catalog.get("claude-sonnet-5")
    assert sonnet5 is not None and sonnet5.thinking is None and sonnet5.fast_mode is None


# -- lifecycle ---------------------------------------------------------------------------------


def test_retirement_starts_on_its_day() -> None:
    catalog = load_catalog()
    day = date(2026, 11, 30)  # Sonnet 4.5's end of life
    assert catalog.lifecycle("claude-sonnet-4-5", day - timedelta(days=1)).state == "retiring"
    on_the_day = catalog.lifecycle("claude-sonnet-4-5", day)
    assert (on_the_day.state, on_the_day.replacement) == ("retired", "claude-sonnet-4-6")
    assert catalog.lifecycle("claude-sonnet-4-5", day + timedelta(days=1)).state == "retired"


def test_retiring_soon_is_a_window_before_the_date() -> None:
    catalog = load_catalog()
    retires = date(2027, 1, 22)  # Opus 4.5
    window = catalog.retiring_soon_days
    inside = catalog.lifecycle("claude-opus-4-5", retires - timedelta(days=window))
    assert (inside.state, inside.days_left) == ("retiring", window)
    assert catalog.lifecycle("claude-opus-4-5", retires - timedelta(days=window + 1)).state == (
        "active"
    )
    just = catalog.lifecycle("claude-opus-4-5", retires - timedelta(days=1))
    assert (just.state, just.days_left, just.replacement) == ("retiring", 1, "claude-opus-4-8")


@pytest.mark.parametrize(
    ("model", "when"),
    [
        ("claude-3-haiku-20240307", date(2026, 4, 20)),
        ("claude-opus-4-1", date(2026, 8, 5)),
        ("claude-mythos-preview", date(2026, 6, 30)),
        ("claude-sonnet-4-5", date(2026, 11, 30)),
    ],
)
def test_documented_retirement_dates(model: str, when: date) -> None:
    info = load_catalog().get(model)
    assert info is not None and info.retires_on == when


def test_retired_without_a_date_and_unknown_models() -> None:
    catalog = load_catalog()
    assert catalog.lifecycle("claude-3-7-sonnet", date(2020, 1, 1)).state == "retired"
    assert catalog.lifecycle("claude-sonnet-4-6", date(2030, 1, 1)).state == "active"
    assert catalog.lifecycle("claude-from-the-future", date(2026, 12, 1)).state == "unknown"


def test_every_replacement_is_current_when_its_predecessor_retires() -> None:
    catalog = load_catalog()
    for model_id in catalog.names():
        info = catalog.get(model_id)
        assert info is not None
        if info.retires_on is None and not info.retired:
            assert info.replacement is None, model_id
            continue
        assert info.replacement, f"{model_id} retires without a named replacement"
        when = info.retires_on or date(2026, 12, 1)
        assert catalog.lifecycle(info.replacement, when).state == "active", model_id


# -- models.toml -------------------------------------------------------------------------------


def test_user_file_overrides_and_adds(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text(
        "[models.claude-sonnet-5]\ninput = 4.0\noutput = 20.0\n"
        "[models.my-proxy-model]\ninput = 1.0\noutput = 2.0\nmin_cache_tokens = 256\n"
    )
    catalog = load_catalog(tmp_path)
    sonnet5 = catalog.get("claude-sonnet-5")
    assert sonnet5 is not None
    assert (sonnet5.input, sonnet5.output, sonnet5.min_cache_tokens) == (4.0, 20.0, 1024)
    # Only the base price changed: the model keeps its cache ratios.
    assert sonnet5.cache_price("read", catalog.multipliers) == pytest.approx(0.4)
    assert catalog.min_cache_tokens("my-proxy-model") == 256


def test_user_file_sets_a_models_own_cache_prices(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text(
        "[models.claude-sonnet-4-6]\nread = 0.15\n"  # 0.05x of $3
        "[models.claude-haiku-5-5]\ninput = 0.5\noutput = 2.5\nwrite_1h = 0.75\nread = 0.025\n"
    )
    catalog = load_catalog(tmp_path)
    sonnet = catalog.multipliers_for("claude-sonnet-4-6")
    assert sonnet.cache_read == pytest.approx(0.05)
    assert (sonnet.cache_write_5m, sonnet.cache_write_1h) == (1.25, 2.0)  # not given: default
    haiku = catalog.get("claude-haiku-5-5")
    assert haiku is not None and haiku.priced
    assert haiku.cache_price("write_5m", catalog.multipliers) == pytest.approx(0.625)
    assert haiku.cache_price("write_1h", catalog.multipliers) == pytest.approx(0.75)
    assert haiku.cache_price("read", catalog.multipliers) == pytest.approx(0.025)


def test_user_file_changes_the_default_multipliers_and_lifecycle(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text(
        "[pricing]\ncache_read = 0.08\n[lifecycle]\nretiring_soon_days = 30\n"
        "[models.claude-sonnet-4-6]\nretires_on = 2027-06-01\nreplacement = 'claude-sonnet-5'\n"
        "[models.claude-opus-4-6]\ndeprecated_on = '2027-03-01'\n"
    )
    catalog = load_catalog(tmp_path)
    assert catalog.multipliers_for("claude-sonnet-4-6").cache_read == 0.08
    assert catalog.multipliers_for("claude-fable-5-1").cache_read == pytest.approx(0.025)
    assert catalog.retiring_soon_days == 30
    state = catalog.lifecycle("claude-sonnet-4-6", date(2027, 5, 2))
    assert (state.state, state.replacement) == ("retiring", "claude-sonnet-5")
    assert catalog.get("claude-opus-4-6").retires_on == date(2027, 3, 1)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("[models.x\ninput = 1", "not valid TOML"),
        ("[models.x]\ninput = 'three'", "input must be a number from 0 to 10000"),
        ("[models.x]\nmin_cache_tokens = 1.5", "min_cache_tokens must be a whole number"),
        ("[models.x]\ncontext_window = -1", "context_window must be a whole number"),
        ("[models.x]\ndeprecated_on = 'soon'", "retires_on must be a date"),
        ("[models.x]\nread = 0.1", "need a non-zero input price"),
        ("[models.x]\ninput = 1.0\nread = -1", "read must be a number from 0 to 10000"),
        ("[models.x]\ncache_read = 0.1", "unknown key 'cache_read'"),
        ("[models.x]\nthinking = ['deep']", "thinking must be a list of enabled and adaptive"),
        ("[models.x]\nsystem_messages = 'yes'", "system_messages must be true or false"),
        ("[pricing]\nbatch = -0.5", "batch must be a number from 0 to 10000"),
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
