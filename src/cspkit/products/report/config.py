"""Local content for an assessment: the partnership's priorities, recommendations, commentary per
section, which sections to include, comparators and periods, from an optional YAML file.

Example (every key optional):

    partnership: East Cambridgeshire Community Safety Partnership
    priorities: [Anti-social behaviour in Littleport, Rural crime]
    recommendations: [Keep the place-based focus on Littleport]
    commentary:
      anti-social-behaviour: Youth ASB remains persistent around the town centre.
    sections: [key-findings, overall-crime, issues, deprivation, places, partners, data-quality,
               method]
    compare: "2022"
    parent: county
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cspkit.errors import CspkitError, InputError
from cspkit.sources.yaml_input import load_yaml, shorten

SECTIONS = ["key-findings", "priorities", "overall-crime", "issues", "deprivation", "places",
            "partners", "data-quality", "method"]
_KEYS = {"partnership": str, "priorities": list, "recommendations": list, "commentary": dict,
         "sections": list, "compare": str, "parent": str, "title": str}


class ConfigError(CspkitError):
    """The local content file is not as expected."""


@dataclass(frozen=True)
class LocalContent:
    partnership: str | None = None
    title: str | None = None
    priorities: list[str] = field(default_factory=list)
    recommendations: list[str] = field(default_factory=list)
    commentary: dict[str, str] = field(default_factory=dict)
    sections: list[str] = field(default_factory=lambda: list(SECTIONS))
    compare: str | None = None
    parent: str | None = None


def load_local_content(path: str | Path | None) -> LocalContent:
    """Read and validate the YAML file; errors name the file, the key and what was expected."""
    if path is None:
        return LocalContent()
    path = Path(path)
    try:
        data: Any = load_yaml(path, what="local content file")
    except InputError as exc:
        raise ConfigError(str(exc)) from exc
    if data is None:
        return LocalContent()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level, found "
                          f"{type(data).__name__}")
    unknown = sorted(map(str, set(data) - set(_KEYS)))  # keys may be numbers or dates
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {shorten(', '.join(unknown))} (expected any of "
                          f"{', '.join(_KEYS)})")
    for key, kind in _KEYS.items():
        if key in data and data[key] is not None and not isinstance(data[key], kind):
            expected = {str: "text", list: "a list", dict: "a mapping"}[kind]
            raise ConfigError(f"{path}: '{key}' should be {expected}, found "
                              f"{type(data[key]).__name__}")
    for key in ("priorities", "recommendations", "sections"):
        for i, item in enumerate(data.get(key) or []):
            if not isinstance(item, str):
                raise ConfigError(f"{path}: '{key}' item {i + 1} should be text, found "
                                  f"{type(item).__name__}")
    sections = data.get("sections") or list(SECTIONS)
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        raise ConfigError(f"{path}: 'sections' has unknown section(s) {shorten(', '.join(bad))} "
                          f"(expected any of {', '.join(SECTIONS)})")
    commentary = data.get("commentary") or {}
    for key, value in commentary.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: commentary for '{shorten(key, 80)}' should be text")
    if data.get("parent") not in (None, "county", "force", "region"):
        raise ConfigError(f"{path}: 'parent' should be county, force or region, found "
                          f"{shorten(repr(data['parent']))}")
    return LocalContent(
        partnership=data.get("partnership"), title=data.get("title"),
        priorities=list(data.get("priorities") or []),
        recommendations=list(data.get("recommendations") or []),
        commentary={str(k): v for k, v in commentary.items()}, sections=list(sections),
        compare=str(data["compare"]) if data.get("compare") else None,
        parent=data.get("parent"))
