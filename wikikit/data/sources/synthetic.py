"""Source kind `synthetic`: documentation distilled from a teacher model, prompted with real code.

    generate(name, config, ctx)   -> the Examples (every planned item ends exactly once as an
                                     example or as a failure record in
                                     artifacts["synthetic/<name>/failures.json"])
    estimate(name, config, ctx)   -> requests, input tokens (real tokenizer), expected cost
                                     plain, with prompt caching, in batches and both, per
                                     category and per item
    plan_lines(name, config, ctx) -> the estimate as lines for `wikikit run --dry-run`

Items that share a code context run side by side (`execution_order`), so their requests read
the context from the provider's prompt cache; in batch mode (`teacher.batch: true`) every
request goes through the provider's batch API and a killed run resumes its batches.

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
from wikikit.synthetic.generators import (
    GENERATORS,
    GROUP_CATEGORIES,
    first_request,
    shared_context_key,
)
from wikikit.synthetic.plan import Item, plan_items
from wikikit.teachers import TeacherError, make_teacher, settings_from_config
from wikikit.teachers.estimate import LABELS, CostEstimate, chosen_scenario, cost_lines
from wikikit.teachers.pricing import PRICES_CHECKED
from wikikit.tokens import count_tokens

EXPECTED_OUTPUT_SHARE = 0.5  # dry-run assumption: answers use half of max_tokens on average


def _key(ctx: SourceContext, *rest: Any) -> tuple:
    return tuple(ctx.key_path) + rest


def open_repos(config: dict, ctx: SourceContext) -> tuple[list, list[str]]:
    """The source's repositories, and (in a dry run) the remote ones not cloned yet, which a
    dry run does not clone: its counts then cover the others only."""
    from wikikit.code.repo import is_cloned, is_git_url, open_repo

    specs = config.get("repos") or []
    if not specs:
        raise InputError(
            f"{'.'.join(map(str, _key(ctx, 'repos')))}: a synthetic source needs repos"
        )
    from wikikit.data.sources._repos import confined_spec, is_held_out

    repos, uncloned = [], []
    for i, spec in enumerate(specs):
        if is_held_out(spec, ctx):  # data.holdout: no teacher call about it
            continue
        kp = _key(ctx, "repos", i)
        base = ctx.recipe.resolve_path(".", kp)
        spec = confined_spec(spec, kp, ctx.recipe)  # local paths and file:// URLs in the roots
        url = spec if isinstance(spec, str) and is_git_url(spec) else None
        if isinstance(spec, dict) and spec.get("url") and is_git_url(str(spec["url"])):
            url = str(spec["url"])
        commit = spec.get("commit") if isinstance(spec, dict) else None
        cache = ctx.cache_dir / "repos"
        if (
            ctx.dry_run
            and url
            and not url.startswith("file://")
            and not is_cloned(url, str(commit) if commit else None, cache)
        ):
            uncloned.append(url)
            continue
        label = ".".join(map(str, kp))
        repo = open_repo(spec, base, cache, label=label)
        if not is_held_out(spec, ctx, repo):
            repos.append(repo)
    return repos, uncloned


def _check_categories(config: dict, ctx: SourceContext) -> None:
    unknown = sorted(set(config.get("categories") or ()) - set(GENERATORS))
    if unknown:
        raise InputError(f"{'.'.join(map(str, _key(ctx, 'categories')))}: unknown {unknown}")


def _plan_on(name: str, config: dict, ctx: SourceContext, repos: list) -> tuple[list[Item], dict]:
    variants = {c: len(s.tasks) for c, s in GENERATORS.items()}
    return plan_items(
        name,
        config.get("categories") or {c: 1 for c in GENERATORS},  # checked by _plan first
        repos,
        variants,
        GROUP_CATEGORIES,
        ctx.seed,
        config.get("max_examples"),
    )


def _plan(name: str, config: dict, ctx: SourceContext) -> tuple[list[Item], dict[str, int], list]:
    _check_categories(config, ctx)  # an error before any repository is opened
    repos, uncloned = open_repos(config, ctx)
    items, short = _plan_on(name, config, ctx, repos)
    return items, short, uncloned


# A dry run whose repositories are all uncloned has no code to measure prompts on; it prices the
# items on wikikit's own package instead (always installed, ~100 files in several folders),
# and says so: a figure of the right order, not $0.
STAND_IN = "wikikit's own code"


def _stand_in_items(name: str, config: dict, ctx: SourceContext) -> list[Item]:
    import wikikit
    from wikikit.code.repo import Repo

    root = Path(wikikit.__file__).resolve().parent
    items, _ = _plan_on(name, config, ctx, [Repo(root, "wikikit", None)])
    return items


def execution_order(items: list[Item]) -> list[Item]:
    """Items that share a code context side by side (their requests then read it from the
    provider's prompt cache), groups in the order the plan first names them (so a budget stop
    still keeps the planned mix)."""
    groups: dict[tuple, list[Item]] = {}
    for item in items:
        groups.setdefault(shared_context_key(item), []).append(item)
    return [item for group in groups.values() for item in group]


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
    # Items in flight are bounded too, so prompts for 30k items are not all built at once. In
    # batch mode a batch holds the requests of every item in flight.
    s = env.teacher.settings
    gate = asyncio.Semaphore(s.batch_max_requests if s.batch else max(2, s.concurrency * 2))

    async def one(item: Item) -> tuple[Example | None, dict | None]:
        async with gate:
            try:
                return await GENERATORS[item.category].produce(item, env), None
            except InputError:
                raise  # a setting the API refused (ConfigRejected): the whole run stops
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
    items, short, _ = _plan(name, config, ctx)
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
        key_path=".".join(map(str, _key(ctx, "teacher"))),
    )
    env = Env(
        source_name=name,
        teacher=teacher,
        wiki_root=ctx.cache_dir / "synthetic" / name / "wiki",
        judge_min_score=int(config.get("judge_min_score", 7)),
        max_tool_steps=int(config.get("max_tool_steps", 12)),
    )
    mode = (
        " (offline: answers from the teacher cache only, no API calls)"
        if teacher.settings.offline
        else " (batch mode: half price, answers within 24 h)"
        if teacher.settings.batch
        else ""
    )
    info(
        f"{name}: {len(items)} items for {teacher.settings.provider}/{teacher.settings.model}{mode}"
    )
    by_id = {item.id: n for n, item in enumerate(items)}
    try:
        ordered = execution_order(items)
        done = teacher.run(lambda: _run_items(ordered, env))
        results = [
            r for _, r in sorted(zip(ordered, done, strict=True), key=lambda p: by_id[p[0].id])
        ]
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
    """Requests, input tokens (o200k, the real tokenizer) and cost before anything is spent:
    plain, with prompt caching, in batches, and in batches with caching, per category
    (wikikit.teachers.estimate)."""
    key_path = ".".join(map(str, _key(ctx, "teacher")))
    teacher_cfg = config.get("teacher") or {}
    settings = settings_from_config(teacher_cfg, key_path)
    items, short, uncloned = _plan(name, config, ctx)
    stand_in = ctx.dry_run and bool(uncloned) and not items
    if stand_in:
        items = _stand_in_items(name, config, ctx)
    items = execution_order(items)
    per_msg = 4
    expected_out = int(settings.max_tokens * EXPECTED_OUTPUT_SHARE)
    est = CostEstimate(settings, teacher_cfg.get("prompt_cache_ttl"))
    for item in items:
        spec = GENERATORS[item.category]
        req = first_request(item)
        system = _count(req.system) + per_msg if req.system else 0
        first = system + sum(_count(c) + per_msg for _, c in req.messages)
        shared = system + _count(req.shared) if req.shared else 0
        est.add_items(item.category)
        for k in range(int(spec.requests)):
            # Later requests of a multi-step item resend the conversation plus earlier answers.
            marks: list[tuple[tuple, int]] = [(("system", req.system), system)]
            if shared:
                marks.append((("context", req.system, req.shared), shared))
            # Outside batches AnthropicTeacher also marks the last answer of a continued
            # conversation; the API finds the prefix an earlier step wrote (it looks back ~20
            # blocks). In batches the next step comes too late for it (see anthropic.py).
            turns = [(("turn", item.id, j), first + (j + 1) * expected_out) for j in range(k)]
            est.add_request(
                item.category,
                first + k * expected_out,
                expected_out,
                marks=marks,
                sync_marks=turns if spec.conversation else (),
                worst_input=first + k * settings.max_tokens,
            )
    e = est.result(len(items))
    e["per_category"] = e.pop("per_group")
    e["requested"] = sum((config.get("categories") or {}).values()) or len(items)
    e["short"], e["uncloned"] = short, uncloned
    e["stand_in"] = STAND_IN if stand_in and items else None
    return e


def _stand_in_lines(e: dict[str, Any]) -> list[str]:
    """What the requested items would cost if the uncloned repositories are like the stand-in."""
    chosen = chosen_scenario(e["batch"], e["prompt_cache"])
    per, n, want = e["usd_per_item"], e["items"], e["requested"]
    expected, worst = want * per[chosen], want * e["worst_case_usd"] / n
    n_repos = len(e["uncloned"])
    line = (
        f"  none of its {n_repos} repositor{'y is' if n_repos == 1 else 'ies is'} cloned yet "
        f"({', '.join(e['uncloned'][:3])}{', ...' if n_repos > 3 else ''}), so no prompt can be "
        f"measured on them; priced on a stand-in, {e['stand_in']} ({n:,} items like these): "
        f"${per['plain']:.4f}/item plain, ${per[chosen]:.4f}/item {LABELS[chosen]}"
        " <- this recipe"
    )
    total = f"  the {want:,} requested: expected ~${expected:,.2f}, worst case ~${worst:,.2f}"
    if e["max_usd"] is not None:
        total += (
            f"; within max_usd ${e['max_usd']:,.2f}"
            if expected <= e["max_usd"]
            else f"; OVER max_usd ${e['max_usd']:,.2f}: the budget stops the run before every "
            "item is made"
        )
    return [
        line,
        total + " (a guess: the real figure follows their code, measured once they are cloned)",
    ]


def plan_lines(name: str, config: dict, ctx: SourceContext) -> list[str]:
    e = estimate(name, config, ctx)
    if not (config.get("teacher") or {}).get("offline"):
        ctx.artifacts[f"estimate/{name}"] = e  # the dry run's totals (wikikit.data.plan_totals)
    if (config.get("teacher") or {}).get("offline"):
        return [
            f"synthetic source '{name}': {e['provider']}/{e['model']}, {e['items']} items "
            f"({e['requested']} requested), ~{e['requests']} requests; offline: every answer "
            "comes from the teacher cache, nothing is sent or spent"
        ]
    if e["stand_in"]:
        return [
            f"synthetic source '{name}': {e['provider']}/{e['model']}, {e['requested']:,} items "
            f"requested; answers assumed at {EXPECTED_OUTPUT_SHARE:.0%} of max_tokens; prices "
            f"of {PRICES_CHECKED} (${e['prices_per_mtok'][0]:g}/${e['prices_per_mtok'][1]:g} "
            "per Mtok in/out)",
            *_stand_in_lines(e),
        ]
    per = e["usd_per_item"]
    chosen = chosen_scenario(e["batch"], e["prompt_cache"])
    lines = [
        f"synthetic source '{name}': {e['provider']}/{e['model']}, {e['items']} items "
        f"({e['requested']} requested), ~{e['requests']} requests, "
        f"~{e['input_tokens']:,} input tokens (o200k tokenizer); answers assumed at "
        f"{EXPECTED_OUTPUT_SHARE:.0%} of max_tokens; prices of {PRICES_CHECKED} "
        f"(${e['prices_per_mtok'][0]:g}/${e['prices_per_mtok'][1]:g} per Mtok in/out)",
        *cost_lines({**e, "per_group": e["per_category"]}),
    ]
    if e["short"]:
        gaps = ", ".join(f"{c} -{n}" for c, n in e["short"].items())
        lines.append(f"  the code offers fewer items than requested: {gaps}")
    if e["uncloned"]:
        n = len(e["uncloned"])
        missing = e["requested"] - e["items"]
        lines.append(
            f"  {n} repositor{'y is' if n == 1 else 'ies are'} not cloned yet "
            f"({', '.join(e['uncloned'][:3])}{', ...' if n > 3 else ''}): the counts above are "
            "estimates that leave them out"
            + (
                f"; if they supply the {missing:,} items still missing, add "
                f"~${missing * per[chosen]:,.2f} at ${per[chosen]:.4f}/item"
                if missing > 0 and e["items"]
                else ""
            )
        )
    return lines
