"""The data stage: sources -> filters -> dedup -> mix -> split -> decontaminate -> render -> files.

Writes under the stage's out_dir (all atomically, all byte-stable for a given recipe + seed):
`train.jsonl`, `validation.jsonl`, `test.jsonl` (rows: id, messages, text, source, category,
language, refs, repo, and tools when the assistant calls any), `README.md` (a Hugging Face
dataset card), `quality.json` (every filter's counts per source, dedup clusters, mix planned vs
actual, shortfalls, decontamination, source stats) and any artifacts a source left.
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections import Counter, defaultdict
from functools import lru_cache
from typing import Any

from wikikit import console
from wikikit.atomic import write_json, write_jsonl, write_text
from wikikit.errors import InputError, WikikitError
from wikikit.example import Example
from wikikit.stage import StageContext, StageResult

SPLIT_FILES = {"train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"}


@lru_cache(maxsize=1)
def _example_validator():
    import jsonschema

    from wikikit.paths import SCHEMA_DIR

    schema = json.loads((SCHEMA_DIR / "example.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def validate_example(example: Example, source_name: str) -> None:
    """Check one example against schemas/example.schema.json (the first of each source)."""
    errors = sorted(_example_validator().iter_errors(example.to_dict()), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(example)"
        raise WikikitError(
            f"data.sources.{source_name}: produced an invalid example ({where}: {errors[0].message})"
        )


def settings(data: dict[str, Any]) -> dict[str, Any]:
    """The data section with defaults filled in where keys are absent."""
    from wikikit.data import decontaminate, dedup, split

    sources = data.get("sources") or {}
    mix_cfg = data.get("mix") or {"all": {"weight": 1.0, "sources": list(sources)}}
    split_cfg = {**split.DEFAULTS, **(data.get("split") or {})}
    return {
        "sources": sources,
        "mix": mix_cfg,
        "size": data.get("size"),
        "strict": bool(data.get("strict", False)),
        "quality": data.get("quality") or {},
        "dedup": {**dedup.DEFAULTS, **(data.get("dedup") or {})},
        "decontaminate": {**decontaminate.DEFAULTS, **(data.get("decontaminate") or {})},
        "split": split_cfg,
    }


def _bucket_of_sources(mix_cfg: dict[str, Any]) -> dict[str, str]:
    owner: dict[str, str] = {}
    for bucket, cfg in mix_cfg.items():
        for i, s in enumerate(cfg.get("sources") or []):
            if s in owner:
                raise InputError(
                    f"data.mix.{bucket}.sources.{i}: source '{s}' is already in bucket '{owner[s]}'"
                )
            owner[s] = bucket
    return owner


def _fit_token_limit(
    kept: list[tuple[str, Example]], report: dict[str, Any], recipe: Any, s: dict, render: Any
) -> list[tuple[str, Example]]:
    """Measure every example as it will be trained on (real tokenizer) and enforce the limit:
    data.quality.max_tokens, else train.sequence_len. Over it: drop, or split single-message
    examples (data.over_length: split). Histograms per source go to quality.json."""
    from wikikit.data.token_scan import enforce_max_tokens, example_tokens, scan

    examples = [ex for _, ex in kept]
    lengths = [
        example_tokens(ex, render) for ex in console.progress(examples, "data: token lengths")
    ]
    report["token_lengths"] = scan(examples, lengths=lengths)
    limit = s["quality"].get("max_tokens") or (recipe.data.get("train") or {}).get("sequence_len")
    if not limit:
        return kept
    mode = (recipe.data.get("data") or {}).get("over_length", "drop")
    fitted: list[tuple[str, Example]] = []
    over: Counter = Counter()
    for (name, ex), n in zip(kept, lengths, strict=True):
        if n <= limit:
            fitted.append((name, ex))
            continue
        parts, counts = enforce_max_tokens([ex], int(limit), mode=mode, render=render, lengths=[n])
        over.update(counts)
        fitted.extend((name, p) for p in parts)
    report["over_length"] = {"limit": int(limit), "mode": mode, **dict(sorted(over.items()))}
    return fitted


def plan(ctx: StageContext) -> list[str]:
    from wikikit.data import holdout as held
    from wikikit.data import plan_totals as totals
    from wikikit.data import pools
    from wikikit.data.mix import largest_remainder
    from wikikit.data.sources import SourceContext

    s = settings(ctx.recipe.data.get("data") or {})
    weights = {b: float(c.get("weight", 0)) for b, c in s["mix"].items()}
    quotas = largest_remainder(weights, s["size"]) if s["size"] else {}
    lines = []
    for b, cfg in s["mix"].items():
        quota = f"{quotas[b]} examples" if quotas else "all examples"
        srcs = ", ".join(
            f"{n} ({(s['sources'].get(n) or {}).get('kind', '?')})"
            for n in cfg.get("sources") or []
        )
        lines.append(f"data: bucket {b}: weight {weights[b]:g} -> {quota} from {srcs}")
    d, sp = s["dedup"], s["split"]
    lines.append(
        f"data: dedup {d['method']} (threshold {d['threshold']}, num_perm {d['num_perm']}, shingle {d['shingle']})"
    )
    lines.append(
        f"data: split {sp['train']}/{sp['validation']}/{sp['test']} stratified on {sp.get('stratify') or []}"
        + (f", grouped by {sp['group_by']}" if sp.get("group_by") else "")
    )
    holdout = held.recipe_holdout(ctx.recipe)
    lines += [f"data: {line}" for line in held.plan_lines(holdout, s["sources"])]
    # Source-specific estimates (e.g. the teacher's request count and cost) before anything is
    # spent, on each source's repositories with its pool's added (wikikit.data.pools).
    estimates: dict[str, Any] = {}
    pools_shown: set[str] = set()
    for name, cfg in s["sources"].items():
        sctx = SourceContext(
            recipe=ctx.recipe,
            cache_dir=ctx.cache_dir,
            seed=int(ctx.recipe.data.get("seed", 0)),
            dry_run=True,
            key_path=("data", "sources", name),
            holdout=holdout,
        )
        pool_line = pools.plan_line(name, cfg, sctx, pools_shown)
        if pool_line:
            lines.append(f"data: {pool_line}")
        plan_lines = _source_plan_lines(cfg.get("kind"))
        if plan_lines is not None:
            sctx.artifacts = estimates  # a source may leave its estimate for the total below
            full = pools.with_pool(name, cfg, sctx)
            estimates[f"repos/{name}"] = _repos_counted(full, holdout)
            lines += [f"data: {name}: {line}" for line in plan_lines(name, full, sctx)]
    lines += [f"data: {line}" for line in totals.total_lines(ctx.recipe, s, estimates)]
    return lines


def _repos_counted(config: dict[str, Any], holdout: Any) -> int:
    """How many repositories a source's `repos:` (and CodeWikiBench checkouts) name, held-out
    ones left out: what the dry run's client hours count."""
    from wikikit.data.holdout import held_out_spec

    specs = list(config.get("repos") or [])
    bench = config.get("codewikibench")
    if isinstance(bench, dict) and isinstance(bench.get("repos"), dict):
        specs += [
            {"name": n, **(v if isinstance(v, dict) else {})} for n, v in bench["repos"].items()
        ]
    return sum(1 for spec in specs if not held_out_spec(spec, holdout))


def _source_plan_lines(kind: str | None):
    import importlib

    from wikikit.data.sources import SOURCE_MODULES

    try:
        module = importlib.import_module(SOURCE_MODULES[kind])
    except (KeyError, ModuleNotFoundError):
        return None
    return getattr(module, "plan_lines", None)


def _length_stats(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    return {
        "count": len(values),
        "min": ordered[0],
        "median": statistics.median(ordered),
        "mean": round(sum(ordered) / len(ordered), 1),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
    }


def collect(
    ctx: StageContext, s: dict[str, Any], filters: list[Any]
) -> tuple[list[tuple[str, Example]], dict[str, Any]]:
    """Stream every source through the filters; (source name, kept example) in stream order."""
    from wikikit.data import holdout as held
    from wikikit.data import pools
    from wikikit.data.filters import reason_key
    from wikikit.data.sources import SourceContext, load_generator

    recipe = ctx.recipe
    seed = int(recipe.data.get("seed", 0))
    holdout = held.recipe_holdout(recipe)
    held_dropped: Counter = Counter()
    owner = _bucket_of_sources(s["mix"])
    stats: dict[str, Counter] = defaultdict(Counter)
    artifacts: dict[str, Any] = {}
    kept: list[tuple[str, Example]] = []
    drops: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    per_source: dict[str, Counter] = {}
    ids_seen: set[str] = set()
    for name in owner:  # bucket order, then source order: a stable stream
        cfg = s["sources"].get(name)
        if cfg is None:
            raise InputError(f"data.mix: source '{name}' is not defined in data.sources")
        generate = load_generator(cfg["kind"])  # StageNotImplemented propagates: the run fails
        sctx = SourceContext(
            recipe=recipe,
            cache_dir=ctx.cache_dir,
            seed=seed,
            stats=stats,
            artifacts=artifacts,
            key_path=("data", "sources", name),
            holdout=holdout,
        )
        cfg = pools.with_pool(name, cfg, sctx)  # a pool's repositories join its repos
        stream = generate(name, cfg, sctx)
        if cfg.get("max_examples"):
            stream = itertools.islice(stream, int(cfg["max_examples"]))
        counts = per_source.setdefault(name, Counter())
        for ex in console.progress(stream, f"data: source {name}"):
            if counts["generated"] == 0:
                validate_example(ex, name)
            counts["generated"] += 1
            if holdout.matches(ex.repo):  # held out of every source, in every naming
                counts["held_out"] += 1
                held_dropped[name] += 1
                continue
            if ex.id in ids_seen:  # the same id twice is the same example twice
                counts["duplicate_id"] += 1
                continue
            ids_seen.add(ex.id)
            for f in filters:
                reason = f.check(ex)
                if reason:
                    drops[name][f.name][reason_key(reason)] += 1
                    break
            else:
                counts["kept"] += 1
                kept.append((name, ex))
    filter_report = {}
    for f in filters:
        entry: dict[str, Any] = {
            "status": getattr(f, "status", "ok"),
            "dropped": {
                n: dict(sorted(drops[n][f.name].items())) for n in per_source if drops[n][f.name]
            },
        }
        if getattr(f, "counts", None):
            entry["noted"] = dict(sorted(f.counts.items()))
        if getattr(f, "unavailable_reason", ""):
            entry["unavailable_reason"] = f.unavailable_reason
        filter_report[f.name] = entry
    report = {
        "sources": {n: dict(sorted(c.items())) for n, c in per_source.items()},
        "source_stats": {n: dict(sorted(c.items())) for n, c in sorted(stats.items())},
        "filters": filter_report,
        "holdout": held.report(holdout, held_dropped, stats),
        "artifacts": artifacts,
    }
    return kept, report


def _against_benchmark(
    ctx: StageContext, s: dict[str, Any], examples: list[tuple[str, Example]]
) -> tuple[list[tuple[str, Example]], dict[str, Any]]:
    """`examples` less those whose answers overlap the held-out benchmark rows' documentation
    (wikikit.data.decontaminate), and what was compared and dropped, per source."""
    from wikikit.data import holdout as held
    from wikikit.data.decontaminate import assistant_text, benchmark_texts, decontaminate

    dc = s["decontaminate"]
    if not dc.get("enabled", True):
        return examples, {"rows": 0, "dropped": {}}
    texts, repos = benchmark_texts(ctx.recipe, ctx.cache_dir, held.recipe_holdout(ctx.recipe))
    if not texts or not examples:
        return examples, {"rows": len(repos), "repos": repos, "dropped": {}}
    keep, dropped = decontaminate(
        [ex for _, ex in examples], texts, int(dc["ngram"]), float(dc["threshold"]),
        text=assistant_text,
    )  # fmt: skip
    per_source = Counter(examples[i][0] for i in sorted(set(range(len(examples))) - set(keep)))
    return [examples[i] for i in keep], {
        "rows": len(repos),
        "repos": repos,
        "compared": len(examples),
        "dropped": dict(sorted(per_source.items())),
        "dropped_examples": dropped[:100],
    }


def _date_field(render: Any, ex: Example) -> dict[str, str]:
    """The row's `current_date`, the day its harmony text's system block says: Axolotl renders
    the row with it (wikikit/train/harmony_turns.py), so its text is this one."""
    date_for = getattr(render, "date_for", None)
    day = date_for(ex) if date_for else None
    return {"current_date": day} if day else {}


def run_stage(ctx: StageContext) -> StageResult:
    from wikikit.data.decontaminate import decontaminate, eval_task_texts, example_text
    from wikikit.data.dedup import dedup
    from wikikit.data.filters import build_filters
    from wikikit.data.mix import mix
    from wikikit.data.render import make_renderer, openai_messages, openai_tools
    from wikikit.data.split import split
    from wikikit.paths import EVAL_TASKS_DIR
    from wikikit.semanticwiki.runtimes import DEFAULT_CURRENT_DATE, DEFAULT_RUNTIME, model_family

    recipe = ctx.recipe
    seed = int(recipe.data.get("seed", 0))
    s = settings(recipe.data.get("data") or {})
    model = recipe.data.get("model") or {}
    try:
        family, fmt = model_family(model)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    filters = build_filters(s["quality"], ctx)

    kept, report = collect(ctx, s, filters)
    artifacts = report.pop("artifacts")
    render = make_renderer(
        fmt,
        model.get("reasoning_effort", "medium"),
        runtime=model.get("runtime", DEFAULT_RUNTIME),
        current_date=model.get("current_date", DEFAULT_CURRENT_DATE),
        family=family,
    )
    kept = _fit_token_limit(kept, report, recipe, s, render)

    # Dedup across every source: a copy in two sources is still a copy.
    d = s["dedup"]
    dd = dedup(
        [ex.assistant_text for _, ex in kept],
        method=d["method"],
        threshold=float(d["threshold"]),
        num_perm=int(d["num_perm"]),
        shingle=int(d["shingle"]),
        progress=lambda it, desc: console.progress(it, desc),
    )
    report["dedup"] = {**d, **dd.report([ex.id for _, ex in kept])}
    survivors = [kept[i] for i in dd.kept]
    # The held-out benchmark rows' own documentation, before the mix: a copy is dropped here,
    # so the quotas are filled with examples that are not.
    survivors, against_benchmark = _against_benchmark(ctx, s, survivors)

    owner = _bucket_of_sources(s["mix"])
    pools: dict[str, list[tuple[str, Example]]] = {b: [] for b in s["mix"]}
    for name, ex in survivors:
        pools[owner[name]].append((name, ex))
    weights = {b: float(c.get("weight", 0)) for b, c in s["mix"].items()}
    mixed = mix(pools, weights, s["size"], seed, strict=s["strict"])
    report["mix"] = {"weights": weights, "size": s["size"], **mixed.report()}
    for b, short in mixed.shortfalls.items():
        console.warn(
            f"data.mix.{b}: {mixed.available[b]} examples for a quota of {mixed.planned[b]} (short {short})"
        )
    chosen: list[tuple[str, str, Example]] = [
        (b, pools[b][i][0], pools[b][i][1]) for b in s["mix"] for i in mixed.selected[b]
    ]

    sp = s["split"]
    parts = split(
        [ex for _, _, ex in chosen],
        {k: float(sp[k]) for k in ("train", "validation", "test")},
        seed,
        stratify=sp.get("stratify") or [],
        group_by=sp.get("group_by"),
    )

    dc = s["decontaminate"]
    report["decontaminate"] = {**dc, "dropped": 0, "benchmark": against_benchmark}
    if dc.get("enabled", True) and parts["train"]:
        held = [example_text(chosen[i][2]) for name in ("validation", "test") for i in parts[name]]
        held += eval_task_texts(EVAL_TASKS_DIR)
        train_examples = [chosen[i][2] for i in parts["train"]]
        keep, dropped = decontaminate(
            train_examples, held, int(dc["ngram"]), float(dc["threshold"])
        )
        parts["train"] = [parts["train"][k] for k in keep]
        report["decontaminate"].update({"dropped": len(dropped), "dropped_examples": dropped[:100]})

    outputs: list[str] = []
    counts: dict[str, Any] = {}
    card_stats: dict[str, Any] = {}
    for split_name, fname in SPLIT_FILES.items():
        idx = parts.get(split_name, [])
        rows = []
        for i in console.progress(idx, f"data: render {split_name} ({fmt})"):
            bucket, name, ex = chosen[i]
            row = {
                "id": ex.id,
                "messages": openai_messages(ex),
                "text": render(ex),
                **_date_field(render, ex),
                "source": ex.source,
                "category": ex.category,
                "language": ex.language,
                "refs": [r.to_dict() for r in ex.refs],
                "repo": ex.repo,
            }
            if any(m.tool_calls for m in ex.messages):
                row["tools"] = openai_tools(ex)
            rows.append((bucket, name, row, len(ex.assistant_text)))
        write_jsonl(ctx.out_dir / fname, (r for _, _, r, _ in rows))
        outputs.append(fname)
        counts[split_name] = len(rows)
        card_stats[split_name] = {
            "bucket": Counter(b for b, _, _, _ in rows),
            "source": Counter(n for _, n, _, _ in rows),
            "category": Counter(r["category"] for _, _, r, _ in rows),
            "language": Counter(r["language"] for _, _, r, _ in rows),
            "text_chars": _length_stats([len(r["text"]) for _, _, r, _ in rows]),
            "assistant_chars": _length_stats([n for _, _, _, n in rows]),
        }
    if fmt == "harmony" and not counts.get("validation") and not counts.get("test"):
        console.warn("data.split: validation and test are empty (too few examples or groups)")

    for rel, obj in sorted(artifacts.items()):
        target = (ctx.out_dir / rel).resolve()
        if ctx.out_dir.resolve() not in target.parents:
            raise WikikitError(f"data.sources: artifact path {rel!r} leaves the data folder")
        write_json(target, obj)
        outputs.append(str(rel))

    report["splits"] = {
        k: {
            "count": counts[k],
            **{
                f: dict(sorted(v.items())) if isinstance(v, Counter) else v
                for f, v in card_stats[k].items()
            },
        }
        for k in SPLIT_FILES
    }
    report["format"] = fmt
    write_json(ctx.out_dir / "quality.json", report)
    outputs.append("quality.json")
    write_text(ctx.out_dir / "README.md", dataset_card(recipe, fmt, report))
    outputs.append("README.md")

    generated = sum(c.get("generated", 0) for c in report["sources"].values())
    counts.update(
        {
            "generated": generated,
            "after_filters": len(kept),
            "after_dedup": len(survivors),
            "mixed": len(chosen),
            "decontaminated": report["decontaminate"]["dropped"],
            "decontaminated_benchmark": sum(against_benchmark["dropped"].values()),
        }
    )
    summary = (
        f"{generated} generated, {len(kept)} passed filters, {len(survivors)} after dedup, "
        f"{counts['train']}/{counts['validation']}/{counts['test']} train/validation/test"
    )
    console.info(f"data: {summary}")
    return StageResult(outputs=outputs, counts=counts, summary=summary)


def _table(title: str, per_split: dict[str, dict[str, int]]) -> str:
    keys = sorted({k for v in per_split.values() for k in v})
    lines = [
        f"### By {title}",
        "",
        f"| {title} | " + " | ".join(SPLIT_FILES) + " |",
        "|---|" + "---:|" * len(SPLIT_FILES),
    ]
    for k in keys:
        lines.append(
            f"| {k} | " + " | ".join(str(per_split[s].get(k, 0)) for s in SPLIT_FILES) + " |"
        )
    return "\n".join(lines) + "\n"


def dataset_card(recipe: Any, fmt: str, report: dict[str, Any]) -> str:
    """A Hugging Face dataset card: YAML front matter, then counts and length statistics."""
    import yaml

    splits = report["splits"]
    front = {
        "pretty_name": f"{recipe.data.get('name', 'wikikit')} training data",
        "language": ["en"],
        "task_categories": ["text-generation"],
        "tags": ["wikikit", "semanticwiki", "code-documentation", f"format-{fmt}"],
        "size_categories": [_size_category(sum(v["count"] for v in splits.values()))],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": k, "path": f} for k, f in SPLIT_FILES.items()],
            }
        ],
        "dataset_info": {
            "splits": [{"name": k, "num_examples": splits[k]["count"]} for k in SPLIT_FILES]
        },
    }
    body = [
        "---",
        yaml.safe_dump(front, sort_keys=False).rstrip(),
        "---",
        "",
        f"# {front['pretty_name']}",
        "",
        "Built by wikikit's data stage from the recipe "
        f"`{recipe.data.get('name', '')}` (seed {recipe.data.get('seed', 0)}). Each row holds `messages` "
        f"(OpenAI-style, with `thinking`), `text` (rendered as `{fmt}`), and `source`, `category`, "
        "`language`, `refs`, `repo`, `id`.",
        "",
        "## Counts",
        "",
        "| split | examples |",
        "|---|---:|",
        *[f"| {k} | {splits[k]['count']} |" for k in SPLIT_FILES],
        "",
    ]
    for field in ("bucket", "source", "category", "language"):
        body.append(_table(field, {k: splits[k][field] for k in SPLIT_FILES}))
    body += [
        "## Length statistics (characters)",
        "",
        "| split | field | min | median | mean | p95 | max |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for k in SPLIT_FILES:
        for field in ("text_chars", "assistant_chars"):
            st = splits[k][field]
            if st.get("count"):
                body.append(
                    f"| {k} | {field} | {st['min']} | {st['median']} | {st['mean']} | {st['p95']} | {st['max']} |"
                )
    mixr = report["mix"]
    body += [
        "",
        "## Mix",
        "",
        "| bucket | weight | planned | available | actual |",
        "|---|---:|---:|---:|---:|",
    ]
    for b in mixr["planned"]:
        body.append(
            f"| {b} | {mixr['weights'][b]:g} | {mixr['planned'][b]} | {mixr['available'][b]} | {mixr['actual'][b]} |"
        )
    if mixr["shortfalls"]:
        body += [
            "",
            "Shortfalls: " + ", ".join(f"{b} short by {n}" for b, n in mixr["shortfalls"].items()),
        ]
    dd = report["dedup"]
    body += [
        "",
        "## Quality",
        "",
        f"Dedup ({dd['method']}, threshold {dd['threshold']}): {dd['exact_removed']} exact and "
        f"{dd['near_removed']} near duplicates removed. Decontamination dropped "
        f"{report['decontaminate']['dropped']} training examples. Filter counts per source are in "
        "`quality.json`.",
        "",
    ]
    return "\n".join(body)


def _size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return label
    return "n>1M"
