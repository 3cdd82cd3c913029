"""The leveling framework and the links a performance alignment document starts from.

- `load_leveling` reads the config's `leveling_framework` YAML (criteria x levels).
- `reference_links` are the config's `links` (review process, leveling framework, ...).
- `work_links` fill the config's `work_queries` ("finding your work": merged PRs, reviews, kudos,
  docs) with the person's {handle}, {employee_id}, {name} and the cycle's {start}, {end} and
  {cycle}; values are URL-encoded and any other field is a config error naming the template key.
Only http(s) addresses ever become links (`safe_url`).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from calib.errors import ConfigError, Problem
from calib.inputs.config import CycleConfig, CycleWindow, read_yaml

QUERY_FIELDS = ("handle", "employee_id", "name", "start", "end", "cycle")
LABELS = {
    "process": "Review process",
    "leveling_framework": "Leveling framework",
    "merged_prs": "Merged pull requests",
    "reviewed_prs": "Pull requests reviewed",
    "kudos": "Kudos",
    "docs": "Docs written",
}


@dataclass(frozen=True)
class Criterion:
    """A performance criterion: what it means, and what meeting it looks like per level."""

    name: str
    description: str
    levels: dict[str, str]


@dataclass(frozen=True)
class Leveling:
    """The leveling framework named by the config (`leveling_framework`)."""

    name: str
    criteria: tuple[Criterion, ...]


def load_leveling(config: CycleConfig) -> Leveling | None:
    """Read the config's leveling framework (path relative to the config's folder), or None.

    The file is a mapping: `name` (optional) and `criteria`, each criterion a mapping with a
    `description` and `levels` (level -> description of meeting it); levels must be the config's.

    Raises
    ------
    ConfigError
        When the file is missing, unreadable or not of that shape, naming the file and key.
    """
    if config.leveling_framework is None:
        return None
    path = (config.base_dir / config.leveling_framework).resolve()
    shown = str(config.leveling_framework)

    def fail(key: str | None, value: object, expected: str) -> ConfigError:
        shown_value = None if value is None else str(value)
        return ConfigError([Problem(shown, None, key, shown_value, expected, column_label="key")])

    raw = read_yaml(path, shown, "a leveling framework file (leveling_framework in the config)", like="level")
    if not isinstance(raw, dict) or not isinstance(raw.get("criteria"), dict) or not raw["criteria"]:
        raise fail("criteria", None, "a mapping of criteria, each with a description and levels")
    criteria = []
    for name, body in raw["criteria"].items():
        if not isinstance(body, dict) or not isinstance(body.get("levels", {}), dict):
            raise fail(f"criteria.{name}", None, "a mapping with description and levels")
        levels = {str(k): " ".join(str(v).split()) for k, v in (body.get("levels") or {}).items()}
        unknown = [k for k in levels if k not in config.levels]
        if unknown:
            raise fail(f"criteria.{name}.levels", unknown[0], f"a level of the config ({', '.join(config.levels)})")
        criteria.append(Criterion(str(name), " ".join(str(body.get("description", "")).split()), levels))
    return Leveling(str(raw.get("name") or "Leveling framework"), tuple(criteria))


# -- links -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A labelled address; `url` is None when there is none to follow (then `note` says why)."""

    label: str
    url: str | None
    note: str = ""


def safe_url(url: object) -> str | None:
    """`url` when it is an http(s) address with a host, else None (javascript:, data:, relative...)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or any(ord(c) < 32 or c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def reference_links(config: CycleConfig) -> list[Link]:
    """The config's `links`, in their order.

    Raises
    ------
    ConfigError
        For a link that is not an http(s) address.
    """
    out = []
    for key, url in config.links.items():
        if safe_url(url) is None:
            raise _config_problem(config, f"links.{key}", url, "an http(s) address")
        out.append(Link(LABELS.get(key, _humanize(key)), url))
    return out


def check_work_queries(config: CycleConfig) -> None:
    """Raise ConfigError unless every `work_queries` template uses only the known fields and is http(s)."""
    sample = dict.fromkeys(QUERY_FIELDS, "x")
    for key, template in config.work_queries.items():
        fields = _template_fields(config, key, template)
        if safe_url(template.format(**{f: sample[f] for f in fields})) is None:
            raise _config_problem(config, f"work_queries.{key}", template, "an http(s) URL template")


def work_links(config: CycleConfig, person: dict[str, Any], window: CycleWindow) -> list[Link]:
    """The "finding your work" links: each `work_queries` template filled in for one person and cycle.

    Parameters
    ----------
    config
        The cycle config (its `work_queries`).
    person
        employee_id, name and, when people has one, handle.
    window
        The cycle: {start}, {end} and {cycle}.
    """
    values = {
        "handle": person.get("handle"),
        "employee_id": person.get("employee_id"),
        "name": person.get("name"),
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "cycle": window.id,
    }
    out = []
    for key, template in config.work_queries.items():
        fields = _template_fields(config, key, template)
        label = LABELS.get(key, _humanize(key))
        missing = [f for f in fields if not filled(values[f])]
        if missing:
            out.append(Link(label, None, f"needs a {missing[0]} for this person in people"))
            continue
        url = safe_url(template.format(**{f: quote(str(values[f]), safe="") for f in fields}))
        out.append(Link(label, url, "" if url else "not an http(s) address"))
    return out


def _template_fields(config: CycleConfig, key: str, template: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _config_problem(config, f"work_queries.{key}", template, f"a valid template ({exc})") from None
    fields = []
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in QUERY_FIELDS or spec or conversion:
            known = ", ".join("{" + f + "}" for f in QUERY_FIELDS)
            raise _config_problem(
                config, f"work_queries.{key}", template, f"only the fields {known}; {{{field}}} is not one"
            )
        fields.append(field)
    return fields


def _config_problem(config: CycleConfig, key: str, value: object, expected: str) -> ConfigError:
    shown = config.source.name if config.source else "config"
    return ConfigError([Problem(shown, None, key, str(value), expected, column_label="key")])


def _humanize(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def filled(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""
