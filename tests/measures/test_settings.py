"""Settings: documented defaults, and config mistakes reported by key."""

from __future__ import annotations

import dataclasses

import pytest

from cspkit.measures.settings import Settings, SettingsError, load_settings


def test_defaults_are_the_documented_ones():
    s = Settings()
    assert (s.alpha, s.min_total_for_test, s.small_count, s.suppress_below) == (0.05, 10, 5, 5)
    assert (s.suppression_label, s.rate_per, s.control_sigma, s.seasonal_min_years) == (
        "<5", 1000, 3.0, 2)


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().alpha = 0.1  # type: ignore[misc]


def test_load_settings_overrides_only_the_keys_given():
    s = load_settings({"alpha": 0.01, "control_sigma": 2})
    assert s.alpha == 0.01 and s.control_sigma == 2.0 and isinstance(s.control_sigma, float)
    assert s.min_total_for_test == 10
    assert load_settings(None) == Settings() == load_settings({})


def test_unknown_key_is_named_with_the_known_ones():
    with pytest.raises(SettingsError, match=r"'alhpa'.*known settings are alpha"):
        load_settings({"alhpa": 0.05})


@pytest.mark.parametrize(("key", "value"), [
    ("alpha", "0.05"), ("alpha", True), ("min_total_for_test", 10.5),
    ("suppression_label", 5), ("rate_per", None)])
def test_wrong_type_names_the_key(key, value):
    with pytest.raises(SettingsError, match=f"setting '{key}' must be"):
        load_settings({key: value})


@pytest.mark.parametrize(("key", "value"), [
    ("alpha", 1.5), ("alpha", 0), ("suppress_below", 0), ("rate_per", 0),
    ("control_sigma", -1.0), ("small_count", -1), ("suppression_label", "  ")])
def test_out_of_range_names_the_key(key, value):
    with pytest.raises(SettingsError, match=f"'{key}'"):
        load_settings({key: value})


def test_settings_errors_are_value_errors():
    with pytest.raises(ValueError):
        Settings(alpha=2.0)


def test_suppression_label_follows_the_threshold_unless_set():
    assert load_settings({"suppress_below": 10}).suppression_label == "<10"
    assert Settings(suppress_below=3).suppression_label == "<3"
    assert load_settings({"suppress_below": 10, "suppression_label": "1-9"}
                         ).suppression_label == "1-9"
