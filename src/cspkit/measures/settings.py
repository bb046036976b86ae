"""The analytic settings every measure shares: significance, small-number and disclosure rules.

One frozen `Settings` object is passed to the measures so that a whole assessment is computed
with one set of rules, and the rules can be printed in its methods section. `load_settings`
builds one from a mapping (a YAML or JSON config), refusing unknown keys and wrong types by
name rather than silently falling back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from cspkit.errors import CspkitError


class SettingsError(CspkitError, ValueError):
    """A settings value is unknown, of the wrong type or out of range; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Rules shared by the measures.

    alpha: significance level for change tests (two-sided p below it is significant).
    min_total_for_test: if the two counts compared add up to fewer than this, the verdict is
        'too few to tell' whatever the p-value.
    small_count: if both counts compared are below this, the verdict is 'too few to tell'.
    suppress_below: published counts from 1 to suppress_below - 1 are replaced by
        `suppression_label` (0 is shown: it discloses nobody).
    suppression_label: the text shown for a suppressed small count; it follows
        `suppress_below` ('<10' for 10) unless set to something other than the default.
    rate_per: rates are expressed per this many people (or households).
    control_sigma: width of c-chart control limits in standard deviations.
    seasonal_min_years: a calendar month needs at least this many years of data before its
        seasonal index is reported.
    min_months_for_dispersion: a change is tested against the series' own month-to-month
        variation (quasi-Poisson) only when at least this many matched month pairs hold
        events; with fewer, the exact Poisson test of the totals is used.
    findings_alpha: family-wise error rate (Holm) for statements promoted to key findings.
    history_years: years before the baseline whose months also inform a change test's
        month-to-month variation (not the comparison itself).
    headline_share: a document's change claims share one error budget, `alpha`: this share
        goes to the change by type of crime, the rest is split equally across the ward
        tables (see `measures.error_control.budget`).
    similar_size: how many districts make a district's family of cspkit similar districts
        (`measures.similar`).
    similar_min_with_data: a district is compared with its similar districts only when at
        least this many of them have police data held for the period; with fewer, no claim.
    """

    alpha: float = 0.05
    min_total_for_test: int = 10
    small_count: int = 5
    suppress_below: int = 5
    suppression_label: str = "<5"
    rate_per: int = 1000
    control_sigma: float = 3.0
    seasonal_min_years: int = 2
    min_months_for_dispersion: int = 6
    findings_alpha: float = 0.05
    history_years: int = 2
    headline_share: float = 0.8
    similar_size: int = 15
    similar_min_with_data: int = 3

    def __post_init__(self) -> None:
        """Check types and ranges, naming the setting; keep the label in step."""
        for spec in fields(self):
            _check_type(spec.name, getattr(self, spec.name))
        for name in ("alpha", "findings_alpha", "headline_share"):
            if not 0 < getattr(self, name) < 1:
                raise SettingsError(f"setting '{name}' must be between 0 and 1, "
                                    f"got {getattr(self, name)}")
        for name, least in (("min_total_for_test", 0), ("small_count", 0),
                            ("suppress_below", 1), ("rate_per", 1), ("seasonal_min_years", 1),
                            ("min_months_for_dispersion", 3), ("history_years", 0),
                            ("similar_size", 1), ("similar_min_with_data", 1)):
            value = getattr(self, name)
            if value < least:
                raise SettingsError(f"setting '{name}' must be {least} or more, got {value}")
        if self.control_sigma <= 0:
            raise SettingsError(
                f"setting 'control_sigma' must be positive, got {self.control_sigma}")
        if not self.suppression_label.strip():
            raise SettingsError("setting 'suppression_label' must not be blank")
        # A label of '<5' next to a threshold of 10 would mislead readers about what is hidden.
        if self.suppression_label == _DEFAULT_LABEL and self.suppress_below != 5:
            object.__setattr__(self, "suppression_label", f"<{self.suppress_below}")


_DEFAULT_LABEL = "<5"
_TYPES: dict[str, type] = {"alpha": float, "min_total_for_test": int, "small_count": int,
                           "suppress_below": int, "suppression_label": str, "rate_per": int,
                           "control_sigma": float, "seasonal_min_years": int,
                           "min_months_for_dispersion": int, "findings_alpha": float,
                           "history_years": int, "headline_share": float,
                           "similar_size": int, "similar_min_with_data": int}


def _check_type(name: str, value: Any) -> None:
    """Raise SettingsError unless `value` has the type setting `name` needs."""
    expected = _TYPES[name]
    # bool is an int subclass, but `alpha: true` in a config file is a mistake, not 1.
    ok = not isinstance(value, bool) and (
        isinstance(value, expected) or (expected is float and isinstance(value, int)))
    if not ok:
        raise SettingsError(
            f"setting '{name}' must be {'a number' if expected is float else expected.__name__}"
            f", got {value!r} ({type(value).__name__})")


def load_settings(mapping: Mapping[str, Any] | None = None) -> Settings:
    """Build Settings from a mapping, e.g. the `settings:` block of a config file.

    Keys not given keep their defaults. An unknown key, a value of the wrong type or one out
    of range raises SettingsError naming the key.
    """
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(_TYPES))
    if unknown:
        raise SettingsError(
            f"unknown setting(s) {', '.join(repr(k) for k in unknown)}; "
            f"known settings are {', '.join(sorted(_TYPES))}")
    for name, value in mapping.items():
        _check_type(name, value)
    values = {k: float(v) if _TYPES[k] is float else v for k, v in mapping.items()}
    return Settings(**values)
