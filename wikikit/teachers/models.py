"""What wikikit knows about teacher models besides their price: end of life, the current model
of each family, and what today's API refuses. `teacher_problems` checks one recipe `teacher:`
mapping against it; `recipe_teacher_problems` walks a whole recipe.

- End-of-life dates are the installed Anthropic SDK's own (anthropic 2.12.0, DEPRECATED_MODELS
  in anthropic/resources/messages/messages.py), so a newer SDK brings newer dates. A model past
  its date is an error against Anthropic's API; offline (the cache answers) or through another
  server (`base_url`: a proxy, a compatible server) it is a warning.
- From Anthropic's model pages (read 2026-12-01, /work/shared/ENVIRONMENT.md "Anthropic API
  today"): Claude Sonnet 5 and 5.5 answer HTTP 400 to a non-default temperature, top_p or top_k
  and to manual extended thinking (`thinking.type: enabled`); adaptive thinking is on by default.
- Minimum cacheable prompt lengths (Anthropic's prompt-caching page): Sonnet 4.5 1,024 tokens,
  Sonnet 4.6 2,048, Opus 4.5/4.6 and Haiku 4.5 4,096. The page lists none for the 5.x models;
  the estimate assumes their family's latest listed figure (Sonnet 2,048, Opus 4,096).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

CURRENT_ANTHROPIC = {
    "opus": "claude-opus-5-5",
    "sonnet": "claude-sonnet-5-5",
    "haiku": "claude-haiku-4-5",
}
SAMPLING_KEYS = ("temperature", "top_p", "top_k")
# Models that refuse sampling parameters and manual extended thinking (family names; dated
# snapshots of them too).
FIXED_SAMPLING = ("claude-sonnet-5", "claude-sonnet-5-5")
MIN_CACHEABLE_TOKENS = {
    "claude-sonnet-5": 2048,
    "claude-sonnet-4-6": 2048,
    "claude-sonnet-4-5": 1024,
    "claude-sonnet-4": 1024,
    "claude-opus-5": 4096,
    "claude-opus-4-6": 4096,
    "claude-opus-4-5": 4096,
    "claude-opus-4": 1024,
    "claude-haiku-4-5": 4096,
    "claude-haiku": 2048,
}
DEFAULT_MIN_CACHEABLE = 1024  # OpenAI caches prompts from 1,024 tokens on

_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        1,
    )
}


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" | "warning"
    key_path: tuple  # the recipe key it is about
    message: str


def _sdk_deprecations() -> dict[str, str]:
    try:
        from anthropic.resources.messages.messages import DEPRECATED_MODELS
    except ImportError:  # pragma: no cover - the SDK is a dependency
        return {}
    return dict(DEPRECATED_MODELS)


def parse_sdk_date(text: str) -> dt.date | None:
    """'November 30th, 2026' (the SDK's wording) -> 2026-11-30."""
    m = re.fullmatch(r"\s*([A-Za-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,\s*(\d{4})\s*", text)
    if not m or m.group(1).lower() not in _MONTHS:
        return None
    return dt.date(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))


def end_of_life(model: str) -> dt.date | None:
    """The end-of-life date the installed SDK gives for `model`, or None if it lists none."""
    text = _sdk_deprecations().get(model)
    return parse_sdk_date(text) if text else None


def current_model(model: str) -> str:
    """The current model of `model`'s family (Sonnet when the family is not recognised)."""
    for family, name in CURRENT_ANTHROPIC.items():
        if family in model:
            return name
    return CURRENT_ANTHROPIC["sonnet"]


def _family_match(model: str, families: tuple[str, ...] | dict) -> str | None:
    best = None
    for f in families:
        if (model == f or model.startswith(f + "-")) and (best is None or len(f) > len(best)):
            best = f
    return best


def fixed_sampling(model: str) -> bool:
    """True for models that answer 400 to sampling parameters and manual thinking."""
    return any(model == f or re.fullmatch(re.escape(f) + r"-\d{8}", model) for f in FIXED_SAMPLING)


def min_cacheable_tokens(model: str) -> int:
    family = _family_match(model, MIN_CACHEABLE_TOKENS)
    return MIN_CACHEABLE_TOKENS[family] if family else DEFAULT_MIN_CACHEABLE


def teacher_problems(
    config: dict[str, Any], key_path: tuple = ("teacher",), today: dt.date | None = None
) -> list[Problem]:
    """What is wrong (errors) or ageing (warnings) in one `teacher:` mapping."""
    provider, model = config.get("provider"), config.get("model")
    if not isinstance(model, str) or not model:
        return []
    today = today or dt.date.today()
    kp = tuple(key_path)
    out: list[Problem] = []
    if provider == "anthropic":
        eol = end_of_life(model)
        if eol is not None:
            successor = current_model(model)
            when = eol.isoformat()
            if today > eol and not config.get("offline") and _anthropic_itself(config):
                out.append(
                    Problem(
                        "error",
                        kp + ("model",),
                        f"{model} reached end of life on {when} (the anthropic SDK's "
                        f"DEPRECATED_MODELS); use {successor}",
                    )
                )
            elif today > eol:
                where = (
                    "offline, its answers come from the teacher cache only"
                    if config.get("offline")
                    else "the server at base_url decides whether it still answers"
                )
                out.append(
                    Problem(
                        "warning",
                        kp + ("model",),
                        f"{model} reached end of life on {when}; {where} (Anthropic's API "
                        f"needs e.g. {successor})",
                    )
                )
            else:
                out.append(
                    Problem(
                        "warning",
                        kp + ("model",),
                        f"{model} is deprecated and reaches end of life on {when}; "
                        f"move to {successor}",
                    )
                )
        if fixed_sampling(model):
            for k in SAMPLING_KEYS:
                if config.get(k) is not None:
                    out.append(
                        Problem(
                            "error",
                            kp + (k,),
                            f"{model} answers HTTP 400 to {k} (it samples only with its "
                            "defaults); remove the key",
                        )
                    )
            thinking = config.get("thinking")
            if isinstance(thinking, dict) and thinking.get("type") == "enabled":
                out.append(
                    Problem(
                        "error",
                        kp + ("thinking", "type"),
                        f"{model} answers HTTP 400 to manual extended thinking; use "
                        "`adaptive` (its default) or `disabled`",
                    )
                )
    if config.get("batch") and provider not in ("anthropic", "openai"):
        out.append(
            Problem(
                "error",
                kp + ("batch",),
                f"batch mode needs a batch API: provider anthropic or openai, not {provider}",
            )
        )
    if config.get("thinking") is not None and provider != "anthropic":
        out.append(
            Problem(
                "error",
                kp + ("thinking",),
                f"thinking settings are Anthropic's; for {provider} use `effort`",
            )
        )
    if provider == "ollama" and config.get("effort") not in (None, "low", "medium", "high"):
        out.append(
            Problem(
                "error",
                kp + ("effort",),
                "Ollama's `think` takes low, medium or high",
            )
        )
    return out


def _anthropic_itself(config: dict[str, Any]) -> bool:
    """True when requests go to Anthropic's API (not a proxy or compatible server)."""
    base = str(config.get("base_url") or "")
    return not base or urlsplit(base).hostname in ("api.anthropic.com", None)


def _teacher_configs(node: Any, path: tuple) -> Iterator[tuple[tuple, dict]]:
    """Every mapping that configures a teacher: a `teacher:` or `judge:` with a provider."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("teacher", "judge") and isinstance(v, dict) and "provider" in v:
                yield path + (k,), v
            else:
                yield from _teacher_configs(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _teacher_configs(v, path + (i,))


def recipe_teacher_problems(data: dict[str, Any], today: dt.date | None = None) -> list[Problem]:
    """`teacher_problems` for every teacher a recipe configures, in recipe order."""
    out: list[Problem] = []
    for path, config in _teacher_configs(data, ()):
        out += teacher_problems(config, path, today)
    return out


def check_recipe(recipe: Any, today: dt.date | None = None) -> list[str]:
    """Validate a loaded Recipe's teachers: raises InputError listing every error as
    `FILE:LINE:COL: key.path: message`; returns the warnings in the same form."""
    from wikikit.errors import InputError

    errors, warnings = [], []
    for p in recipe_teacher_problems(recipe.data, today):
        line = f"{recipe.loc(p.key_path)}: {'.'.join(map(str, p.key_path))}: {p.message}"
        (errors if p.severity == "error" else warnings).append(line)
    if errors:
        raise InputError(errors[0], errors)
    return warnings
