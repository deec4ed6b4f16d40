"""Source kind `synthetic`: documentation distilled from a teacher model, prompted with real code.

    generate(name, config, ctx)   -> the Examples (every planned item ends exactly once as an
                                     example or as a failure record in
                                     artifacts["synthetic/<name>/failures.json"])
    estimate(name, config, ctx)   -> requests, input tokens (real tokenizer), expected cost
    plan_lines(name, config, ctx) -> the estimate as lines for `wikikit run --dry-run`

The API key is read from the environment at use time (recipe `teacher.api_key: ${VAR}`, or the
SDK's own variable); it is never logged, cached or written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from wikikit.console import info, warn
from wikikit.data.sources import SourceContext
from wikikit.errors import InputError
from wikikit.example import Example
from wikikit.synthetic.common import Env, ItemFailed
from wikikit.synthetic.generators import GENERATORS, GROUP_CATEGORIES, first_request
from wikikit.synthetic.plan import Item, plan_items
from wikikit.teachers import TeacherError, make_teacher, settings_from_config
from wikikit.tokens import count_tokens

EXPECTED_OUTPUT_SHARE = 0.5  # dry-run assumption: answers use half of max_tokens on average


def _key(ctx: SourceContext, *rest: Any) -> tuple:
    return tuple(ctx.key_path) + rest


def open_repos(config: dict, ctx: SourceContext) -> list:
    from wikikit.code.repo import open_repo

    specs = config.get("repos") or []
    if not specs:
        raise InputError(
            f"{'.'.join(map(str, _key(ctx, 'repos')))}: a synthetic source needs repos"
        )
    from wikikit.data.sources._repos import is_held_out

    repos = []
    for i, spec in enumerate(specs):
        if is_held_out(spec, ctx):  # data.holdout: no teacher call about it
            continue
        kp = _key(ctx, "repos", i)
        base = ctx.recipe.resolve_path(".", kp)
        if isinstance(spec, dict) and spec.get("path"):
            spec = {
                **spec,
                "path": str(ctx.recipe.resolve_path(spec["path"], _key(ctx, "repos", i, "path"))),
            }
        elif isinstance(spec, str):
            from wikikit.code.repo import is_git_url

            if not is_git_url(spec):
                spec = str(ctx.recipe.resolve_path(spec, kp))
        label = ".".join(map(str, kp))
        repo = open_repo(spec, base, ctx.cache_dir / "repos", label=label)
        if not is_held_out(spec, ctx, repo):
            repos.append(repo)
    return repos


def _plan(name: str, config: dict, ctx: SourceContext) -> tuple[list[Item], dict[str, int]]:
    categories = config.get("categories") or {c: 1 for c in GENERATORS}
    unknown = sorted(set(categories) - set(GENERATORS))
    if unknown:
        raise InputError(f"{'.'.join(map(str, _key(ctx, 'categories')))}: unknown {unknown}")
    variants = {c: len(s.tasks) for c, s in GENERATORS.items()}
    return plan_items(
        name,
        categories,
        open_repos(config, ctx),
        variants,
        GROUP_CATEGORIES,
        ctx.seed,
        config.get("max_examples"),
    )


def _cache_path(config: dict, ctx: SourceContext) -> Path:
    value = (config.get("teacher") or {}).get("cache")
    if value:
        return ctx.recipe.resolve_path(value, _key(ctx, "teacher", "cache"))
    return ctx.cache_dir / "teacher.sqlite"


def _api_key(config: dict, ctx: SourceContext) -> str | None:
    teacher = config.get("teacher") or {}
    if teacher.get("offline") or "api_key" not in teacher:
        return None  # offline needs none; otherwise the SDK reads its own variable
    return ctx.recipe.secret(_key(ctx, "teacher", "api_key"))


async def _run_items(items: list[Item], env: Env) -> list[tuple[Example | None, dict | None]]:
    # Items in flight are bounded too, so prompts for 30k items are not all built at once.
    gate = asyncio.Semaphore(max(2, env.teacher.settings.concurrency * 2))

    async def one(item: Item) -> tuple[Example | None, dict | None]:
        async with gate:
            try:
                return await GENERATORS[item.category].produce(item, env), None
            except TeacherError as exc:
                detail = env.teacher.redact(str(exc))
                return None, {**item.describe(), "reason": exc.reason, "detail": detail}
            except ItemFailed as exc:
                return None, {**item.describe(), "reason": exc.reason, "detail": exc.detail}
            except Exception as exc:  # noqa: BLE001 - a bug must still end the item visibly
                detail = env.teacher.redact(f"{type(exc).__name__}: {exc}")[:300]
                return None, {**item.describe(), "reason": "error", "detail": detail}

    return await asyncio.gather(*(one(i) for i in items))


def generate(name: str, config: dict, ctx: SourceContext) -> Iterable[Example]:
    if ctx.dry_run:
        return []
    items, short = _plan(name, config, ctx)
    stats = ctx.stats[name]
    for category, n in short.items():
        stats[f"short_{category}"] += n
        warn(f"{name}: the code offers only {n} fewer {category} items than requested")
    teacher_cfg = config.get("teacher") or {}
    teacher = make_teacher(
        teacher_cfg,
        api_key=_api_key(config, ctx),
        cache_path=_cache_path(config, ctx),
        seed=ctx.seed,
    )
    env = Env(
        source_name=name,
        teacher=teacher,
        wiki_root=ctx.cache_dir / "synthetic" / name / "wiki",
        judge_min_score=int(config.get("judge_min_score", 7)),
        max_tool_steps=int(config.get("max_tool_steps", 12)),
    )
    offline = " (offline: answers from the teacher cache only, no API calls)"
    info(
        f"{name}: {len(items)} items for {teacher.settings.provider}/{teacher.settings.model}"
        + (offline if teacher.settings.offline else "")
    )
    try:
        results = teacher.run(lambda: _run_items(items, env))
    finally:
        if teacher.cache is not None:
            teacher.cache.close()
    examples = [ex for ex, _ in results if ex is not None]
    failures = [f for _, f in results if f is not None]
    stats["requested"] += len(items)
    stats["examples"] += len(examples)
    stats["failed"] += len(failures)
    for f in failures:
        stats[f"failed_{f['reason']}"] += 1
    for k, v in teacher.usage.as_stats().items():
        stats[k] += v
    if teacher.usage.budget_stop:
        warn(
            f"{name}: max_usd {teacher.settings.max_usd} reached; remaining items recorded as failed"
        )
    ctx.artifacts[f"synthetic/{name}/failures.json"] = failures
    info(
        f"{name}: {len(examples)} examples, {len(failures)} failed, "
        f"{teacher.usage.api_calls} API calls, {teacher.usage.cache_hits} cache hits, "
        f"${teacher.usage.usd:.4f}"
    )
    return examples


# -- dry run ---------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _count(text: str) -> int:
    return count_tokens(text)


def estimate(name: str, config: dict, ctx: SourceContext) -> dict[str, Any]:
    """Requests, input tokens (o200k, the real tokenizer) and cost, before anything is spent."""
    settings = settings_from_config(
        config.get("teacher") or {}, ".".join(map(str, _key(ctx, "teacher")))
    )
    items, short = _plan(name, config, ctx)
    per_msg = 4
    expected_out = settings.max_tokens * EXPECTED_OUTPUT_SHARE
    requests = 0.0
    input_tokens = 0.0
    worst_input = 0.0
    per_category: dict[str, dict[str, float]] = {}
    for item in items:
        spec = GENERATORS[item.category]
        req = first_request(item)
        first = sum(_count(c) + per_msg for _, c in req.messages) + (
            _count(req.system) + per_msg if req.system else 0
        )
        # Later requests of a multi-step item resend the conversation plus earlier answers.
        n = spec.requests
        grown = sum(first + k * expected_out for k in range(int(n)))
        worst = sum(first + k * settings.max_tokens for k in range(int(n)))
        requests += n
        input_tokens += grown
        worst_input += worst
        c = per_category.setdefault(item.category, {"items": 0, "requests": 0, "input_tokens": 0})
        c["items"] += 1
        c["requests"] += n
        c["input_tokens"] += grown
    prices = settings.prices
    expected_usd = prices.cost(int(input_tokens), int(requests * expected_out))
    worst_usd = prices.cost(int(worst_input), int(requests * settings.max_tokens))
    return {
        "provider": settings.provider,
        "model": settings.model,
        "items": len(items),
        "requested": sum((config.get("categories") or {}).values()) or len(items),
        "short": short,
        "requests": int(round(requests)),
        "input_tokens": int(input_tokens),
        "expected_output_tokens": int(requests * expected_out),
        "expected_usd": round(expected_usd, 2),
        "worst_case_usd": round(worst_usd, 2),
        "max_usd": settings.max_usd,
        "prices_per_mtok": [prices.input_per_mtok, prices.output_per_mtok],
        "per_category": per_category,
    }


def plan_lines(name: str, config: dict, ctx: SourceContext) -> list[str]:
    e = estimate(name, config, ctx)
    lines = [
        f"synthetic source '{name}': {e['provider']}/{e['model']}, {e['items']} items "
        f"({e['requested']} requested), ~{e['requests']} requests, "
        f"~{e['input_tokens']:,} input tokens (o200k tokenizer)",
        f"  expected cost ${e['expected_usd']:,.2f} (answers at {EXPECTED_OUTPUT_SHARE:.0%} of "
        f"max_tokens; ${e['prices_per_mtok'][0]}/${e['prices_per_mtok'][1]} per Mtok in/out), "
        f"worst case ${e['worst_case_usd']:,.2f}"
        + (f", budget max_usd ${e['max_usd']:,.2f}" if e["max_usd"] is not None else ""),
    ]
    if e["max_usd"] is not None and e["worst_case_usd"] > e["max_usd"]:
        lines.append(
            "  the budget stops the run before every item is made (worst case exceeds max_usd)"
        )
    if e["short"]:
        gaps = ", ".join(f"{c} -{n}" for c, n in e["short"].items())
        lines.append(f"  the code offers fewer items than requested: {gaps}")
    return lines
