"""Teacher LLM clients for distillation and judging: anthropic, openai-compatible, ollama.

`make_teacher(config, api_key=..., cache_path=..., key_path=...)` builds one from a recipe's
`teacher:` mapping. All share wikikit.teachers.base's loop (cache, offline, budget, limits,
retries, prompt-cache layout); anthropic and openai also answer lists of requests through their
batch APIs (`Teacher.complete_batch`, wikikit.teachers.batch).
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from wikikit.console import warn
from wikikit.errors import InputError
from wikikit.teachers.base import (
    BatchCanceled,
    BudgetExhausted,
    ConfigRejected,
    Fatal,
    OfflineMiss,
    RetriesExhausted,
    Retryable,
    Teacher,
    TeacherError,
    TeacherRequest,
    TeacherResponse,
    TeacherSettings,
)
from wikikit.teachers.cache import ResponseCache
from wikikit.teachers.models import teacher_problems
from wikikit.teachers.pricing import Prices, resolve_prices

__all__ = [
    "BatchCanceled",
    "BudgetExhausted",
    "ConfigRejected",
    "Fatal",
    "OfflineMiss",
    "RetriesExhausted",
    "Retryable",
    "Teacher",
    "TeacherError",
    "TeacherRequest",
    "TeacherResponse",
    "TeacherSettings",
    "make_teacher",
    "settings_from_config",
]

PROVIDERS = ("anthropic", "openai", "ollama")


def settings_from_config(config: dict[str, Any], key_path: str = "teacher") -> TeacherSettings:
    """Recipe `teacher:` mapping -> settings, with defaults filled and prices resolved.

    Raises InputError for a model past its end of life (unless offline: the cache answers) and
    for settings the model is known to refuse (wikikit.teachers.models)."""
    provider = config.get("provider")
    model = config.get("model")
    if provider not in PROVIDERS:
        raise InputError(f"{key_path}.provider: must be one of {', '.join(PROVIDERS)}")
    if not model:
        raise InputError(f"{key_path}.model: required")
    errors = [
        p for p in teacher_problems(config, tuple(key_path.split("."))) if p.severity == "error"
    ]
    if errors:
        lines = [f"{'.'.join(map(str, p.key_path))}: {p.message}" for p in errors]
        raise InputError(lines[0], lines)
    prices = resolve_prices(provider, model, config.get("prices"))
    max_usd = config.get("max_usd")
    if prices is None:
        if max_usd is not None:
            raise InputError(
                f"{key_path}.prices: no shipped price for model '{model}'; set "
                "input_per_mtok and output_per_mtok so max_usd can be enforced"
            )
        prices = Prices(0.0, 0.0)
    batch = bool(config.get("batch", False))
    # Batches may wait hours in the queue: the 1-hour TTL keeps a shared prefix cached between
    # requests of one batch (Anthropic's batch-processing guide recommends it).
    ttl = config.get("prompt_cache_ttl") or ("1h" if batch else "5m")

    def opt(key: str, cast):
        return cast(config[key]) if config.get(key) is not None else None

    return TeacherSettings(
        provider=provider,
        model=model,
        max_tokens=int(config.get("max_tokens", 4096)),
        temperature=opt("temperature", float),
        top_p=opt("top_p", float),
        top_k=opt("top_k", int),
        thinking=dict(config["thinking"]) if config.get("thinking") else None,
        effort=opt("effort", str),
        concurrency=int(config.get("concurrency", 8)),
        requests_per_minute=config.get("requests_per_minute"),
        tokens_per_minute=config.get("tokens_per_minute"),
        max_attempts=int(config.get("max_attempts", 5)),
        timeout_s=float(config.get("timeout_s", 300.0)),
        max_usd=float(max_usd) if max_usd is not None else None,
        offline=bool(config.get("offline", False)),
        backoff_base_s=float(config.get("backoff_base_s", 1.0)),
        prices=prices,
        prompt_cache=bool(config.get("prompt_cache", True)),
        prompt_cache_ttl=str(ttl),
        batch=batch,
        batch_poll_s=float(config.get("batch_poll_s", 60.0)),
        batch_max_requests=int(config.get("batch_max_requests", 10_000)),
        key_path=key_path,
    )


# The SDKs' own variables, read when the recipe names no key.
DEFAULT_KEY_VARS = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


def _check_key_available(provider: str, base_url: str | None) -> None:
    """Fail once, before planning thousands of requests, when no key can be found."""
    var = DEFAULT_KEY_VARS.get(provider)
    if var is None or os.environ.get(var):
        return
    if provider == "openai" and base_url:
        return  # a local OpenAI-compatible server usually needs no key
    raise InputError(f"teacher.api_key: not set and {var} is not in the environment")


def make_teacher(
    config: dict[str, Any],
    *,
    api_key: str | None,
    cache_path: Path | None,
    seed: int | None = None,
    key_path: str = "teacher",
) -> Teacher:
    """A ready teacher. `api_key` None lets the SDK read its usual environment variable;
    `key_path` is the recipe key of `config`, named in errors (e.g. a refused setting)."""
    settings = settings_from_config(config, key_path)
    if not settings.offline and api_key is None:
        _check_key_available(settings.provider, config.get("base_url"))
    cache = (
        ResponseCache(cache_path, read_only=settings.offline) if cache_path is not None else None
    )
    if cache is not None and not settings.batch and not settings.offline:
        left = cache.open_batches(settings.provider, settings.model)
        if left:
            warn(
                f"{key_path}.batch: {len(left)} batch(es) of an earlier batch-mode run are not "
                "collected yet; with batch: true this run would collect them instead of "
                "asking those prompts again"
            )
    rng = random.Random(seed)  # jitter only; never affects what is generated
    kwargs = {"secret": api_key, "rng": rng, "base_url": config.get("base_url")}
    if settings.provider == "anthropic":
        from wikikit.teachers.anthropic import AnthropicTeacher

        return AnthropicTeacher(settings, cache, **kwargs)
    if settings.provider == "openai":
        from wikikit.teachers.openai import OpenAITeacher

        return OpenAITeacher(settings, cache, **kwargs)
    from wikikit.teachers.ollama import OllamaTeacher

    return OllamaTeacher(settings, cache, **kwargs)
