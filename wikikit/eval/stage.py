"""The eval stage: the recipe's eval_tasks/ through lm-eval's Python API, gates, a results table.

What is evaluated (first match wins):
- `wikikit eval --model X` (WIKIKIT_EVAL_MODEL): a Hugging Face model folder, a `.gguf` file,
  `ollama:NAME`, or an OpenAI-compatible URL (`http://host:port/v1[#model-name]`);
- else `eval.backend` (default hf): `hf` runs the train stage's merged model; `gguf` serves the
  package stage's (or `eval.gguf`) GGUF through `python -m llama_cpp.server` on 127.0.0.1;
  `vllm` runs the merged model in lm-eval's vLLM engine, or with `eval.vllm.serve` behind
  `vllm serve` on 127.0.0.1 (wikikit.eval.vllm); `ollama` and `openai` talk to `eval.base_url`.

How each backend is fed (see wikikit.eval.metrics.prompts): `hf` and the llama.cpp completions
endpoint get the whole harmony prompt text; chat endpoints (Ollama, any OpenAI-compatible
server) get plain prompts through lm-eval's `local-chat-completions` with
apply_chat_template=True and the reasoning effort as the system instruction.

`eval.compare_base` also evaluates the base model (hf) for a base-vs-fine-tuned table with the
targets beside it. `eval.gates` ({task: min} or {task/metric: min}) fail the run when missed.
Writes results.json (lm-eval's own output plus ours) and results.md.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_json, write_text
from wikikit.errors import InputError, WikikitError
from wikikit.eval.codewikibench.judge import UPSTREAM_ERROR_RULE, JudgeSettings
from wikikit.eval.harness import (
    HARNESS,
    WIKI_TASK,
    harness_plan,
    heldout_rubrics,
    reads_package,
    run_harness,
)
from wikikit.eval.harness import models as harness_models
from wikikit.eval.heldout import DEFAULT_ITEMS, build_items, heldout_names
from wikikit.eval.local_server import llama_cpp_server
from wikikit.eval.metrics.prompts import RUNTIME_ENV, STYLE_ENV, system_instruction
from wikikit.eval.results import (
    Intervals,
    as_json,
    check_gates,
    differences,
    gates_markdown,
    intervals,
    lm_eval_items,
    missed,
    points,
    raw_files_table,
    results_table,
    wiki_table,
)
from wikikit.eval.stats import DEFAULT_ITERATIONS, GateVerdict
from wikikit.eval.vllm import SERVED_NAME, lm_eval_model_args, vllm_server
from wikikit.paths import EVAL_TASKS_DIR
from wikikit.semanticwiki.protocol import CLIENT_VERSION
from wikikit.semanticwiki.runtimes import DEFAULT_RUNTIME
from wikikit.stage import StageContext, StageResult
from wikikit.targets import HEADLINE, TARGETS

DEFAULT_TASKS = (
    "wikikit_traceability",
    "wikikit_mermaid",
    "wikikit_tooluse",
    "wikikit_completeness",
)
MODEL_ENV = "WIKIKIT_EVAL_MODEL"
# tasks whose prompts are SemanticWiki's own (eval_tasks/semanticwiki_*)
SEMANTICWIKI_TASKS = ("semanticwiki_page",)


@dataclass
class ModelTarget:
    """One model to evaluate, as lm-eval needs it."""

    label: str
    backend: str  # hf | gguf | ollama | openai
    location: str  # a path or a URL
    model_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _merged_model(ctx: StageContext) -> Path:
    train = ctx.inputs.get("train")
    if train is None:
        raise InputError("eval: no train stage output to evaluate; pass --model or run train first")
    merged = Path(train) / "merged"
    if not merged.is_dir():
        raise WikikitError(
            f"eval: {merged} does not exist (did the train stage merge the adapter?)"
        )
    return merged


def _train_metrics(ctx: StageContext) -> dict[str, Any]:
    train = ctx.inputs.get("train")
    path = Path(train) / "metrics.json" if train else None
    if path is None or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}


def package_ggufs(package: Path) -> list[Path]:
    """The package stage writes model.gguf; failing that, every GGUF there (one will do)."""
    if (package / "model.gguf").is_file():
        return [package / "model.gguf"]
    return sorted(package.glob("*.gguf"))


def parse_model_spec(spec: str) -> ModelTarget:
    """`--model` text -> target: folder (hf), *.gguf, ollama:NAME, or http(s)://...[#model]."""
    if spec.startswith(("http://", "https://")):
        url, _, name = spec.partition("#")
        return ModelTarget("model", "openai", url, name or None)
    if spec.startswith("ollama:"):
        return ModelTarget("model", "ollama", "http://127.0.0.1:11434", spec[len("ollama:") :])
    if spec.startswith("vllm:"):  # a model folder (or Hub id) for lm-eval's in-process vLLM
        return ModelTarget("model", "vllm", spec[len("vllm:") :])
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(f"--model {spec}: no such file or folder")
    if path.suffix == ".gguf":
        return ModelTarget("model", "gguf", str(path.resolve()))
    return ModelTarget("model", "hf", str(path.resolve()))


def resolve_target(ctx: StageContext) -> ModelTarget:
    spec = os.environ.get(MODEL_ENV)
    if spec:
        return parse_model_spec(spec)
    section = ctx.section
    backend = section.get("backend", "hf")
    name = section.get("model_name")
    if backend == "hf":
        return ModelTarget("fine-tuned", "hf", str(_merged_model(ctx)))
    if backend == "vllm":
        return ModelTarget(
            "fine-tuned", "vllm", str(_merged_model(ctx)), extra={"vllm": section.get("vllm") or {}}
        )
    if backend == "gguf":
        if section.get("gguf"):
            gguf = ctx.recipe.resolve_path(section["gguf"], ("eval", "gguf"))
        else:
            package = ctx.run_dir / "package"
            found = package_ggufs(package)
            if len(found) != 1:
                raise InputError(
                    f"eval.backend gguf: {len(found) or 'no'} GGUF files under {package}; "
                    "set eval.gguf or run package"
                )
            gguf = found[0]
        return ModelTarget("fine-tuned", "gguf", str(gguf))
    default_url = "http://127.0.0.1:11434" if backend == "ollama" else None
    url = section.get("base_url", default_url)
    if not url:
        raise InputError(f"eval.base_url: required for backend {backend}")
    if backend == "ollama" and not name:
        name = ctx.recipe.get(("package", "ollama", "name"))
    return ModelTarget("fine-tuned", backend, url, name)


def _chat_url(url: str, backend: str) -> str:
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if backend == "ollama" and not url.endswith("/v1"):
        url += "/v1"  # Ollama's OpenAI-compatible API
    return url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")


def _torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def lm_eval_model(target: ModelTarget, max_length: int | None = None) -> dict[str, Any]:
    """simple_evaluate keyword arguments for a target (model, model_args, chat template)."""
    if target.backend == "hf":
        # lm-eval's hf model defaults to device "cuda"; on a CPU-only machine say so.
        args: dict[str, Any] = {
            "pretrained": target.location,
            "trust_remote_code": False,
            "device": _torch_device(),
        }
        if max_length:
            args["max_length"] = max_length
        return {"model": "hf", "model_args": args, "apply_chat_template": False, "style": "harmony"}
    if target.backend == "vllm":  # lm-eval's in-process vLLM engine: raw harmony text, batched
        return {
            "model": "vllm",
            "model_args": lm_eval_model_args(target.location, target.extra.get("vllm")),
            "apply_chat_template": False,
            "style": "harmony",
            "batch_size": "auto",
        }
    if target.backend == "gguf-server":  # llama.cpp's completions endpoint: raw harmony text
        args = {
            "base_url": target.location,
            "model": target.model_name or "model",
            "tokenized_requests": False,
            "tokenizer_backend": None,
            "num_concurrent": 1,
            # without a tokenizer lm-eval cannot find the stop text itself: harmony's end of answer
            "eos_string": "<|return|>",
            "timeout": 3600,  # a 20B GGUF on CPU takes minutes for one long answer
        }
        return {
            "model": "local-completions",
            "model_args": args,
            "apply_chat_template": False,
            "style": "harmony",
        }
    args = {
        "base_url": _chat_url(target.location, target.backend),
        "model": target.model_name or "model",
        "num_concurrent": 1,
        "max_retries": 3,
    }
    return {
        "model": "local-chat-completions",
        "model_args": args,
        "apply_chat_template": True,
        "system_instruction": system_instruction(),
        "style": "plain",
    }


@contextlib.contextmanager
def _env(values: dict[str, str | None]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def judge_configs(ctx: StageContext) -> tuple[list[dict[str, Any]], list[str | None]]:
    """The recipe's judges (`eval.judges`, or the one `eval.judge`), cache paths resolved, and
    their API keys read from the environment (never written anywhere)."""
    section = ctx.section
    many = section.get("judges")
    if many and section.get("judge"):
        raise InputError("eval.judge and eval.judges: set one (judges takes a list)")
    raw = many if many else ([section["judge"]] if section.get("judge") else [])
    configs: list[dict[str, Any]] = []
    keys: list[str | None] = []
    for i, judge in enumerate(raw):
        path: tuple = ("eval", "judges", i) if many else ("eval", "judge")
        config = {k: v for k, v in judge.items() if k != "api_key"}
        if judge.get("cache"):
            config["cache"] = str(ctx.recipe.resolve_path(judge["cache"], (*path, "cache")))
        keys.append(ctx.recipe.secret((*path, "api_key")) if judge.get("api_key") else None)
        configs.append(config)
    return configs, keys


def _judge_env(ctx: StageContext, tasks: list[str]) -> dict[str, str | None]:
    """The codewikibench judges' configuration, handed to the task through the environment."""
    if "codewikibench" not in tasks:
        return {}
    configs, keys = judge_configs(ctx)
    if not configs:
        raise InputError(
            "eval.judge: required (or eval.judges) when eval.tasks includes codewikibench"
        )
    JudgeSettings.from_config(ctx.section.get("judging"))  # bad settings fail before lm-eval
    env: dict[str, str | None] = {
        "WIKIKIT_JUDGES": json.dumps(configs),
        "WIKIKIT_JUDGING": json.dumps(ctx.section.get("judging") or {}),
        "WIKIKIT_JUDGE_CACHE": str(ctx.cache_dir / "judge.sqlite"),
    }
    env.update({f"WIKIKIT_JUDGE_API_KEY_{i}": key for i, key in enumerate(keys)})
    return env


def _scores(results: dict[str, Any], tasks: list[str]) -> dict[str, dict[str, float]]:
    """lm-eval's per-task results -> {task: {metric: value}} (filter suffix dropped)."""
    out: dict[str, dict[str, float]] = {}
    for task in tasks:
        raw = results.get("results", {}).get(task, {})
        out[task] = {
            k.split(",")[0]: float(v)
            for k, v in raw.items()
            if "," in k and "_stderr" not in k and isinstance(v, int | float)
        }
    return out


def run_lm_eval(
    target: ModelTarget,
    tasks: list[str],
    *,
    limit: int | None = None,
    gen_kwargs: dict[str, Any] | None = None,
    extra_env: dict[str, str | None] | None = None,
    log_dir: Path | None = None,
    n_ctx: int = 32768,
) -> dict[str, Any]:
    """Evaluate one target on `tasks` with lm-eval; returns lm-eval's results dict."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    with contextlib.ExitStack() as stack:
        if target.backend == "gguf":
            url = stack.enter_context(
                llama_cpp_server(
                    target.location, n_ctx, (log_dir or Path(".")) / "llama_cpp_server.log"
                )
            )
            target = ModelTarget(target.label, "gguf-server", url + "/completions", "model")
            # llama.cpp's server applies repeat_penalty 1.1 unless told otherwise: greedy
            # decoding must mean what it means for the hf backend
            gen_kwargs = {**(gen_kwargs or {}), "repeat_penalty": 1.0}
        options = target.extra.get("vllm") or {}
        if target.backend == "vllm" and options.get("serve"):
            url = stack.enter_context(
                vllm_server(target.location, options, (log_dir or Path(".")) / "vllm_serve.log")
            )
            target = ModelTarget(target.label, "openai", url, SERVED_NAME)
        spec = lm_eval_model(target)
        style = spec.pop("style")
        stack.enter_context(_env({STYLE_ENV: style, **(extra_env or {})}))
        console.info(
            f"eval: {target.label} ({target.backend}: {target.location}) on {', '.join(tasks)}"
        )
        parts = []
        # SemanticWiki's prompts carry their own system prompt: no wikikit system instruction
        for group in (
            [t for t in tasks if t not in SEMANTICWIKI_TASKS],
            [t for t in tasks if t in SEMANTICWIKI_TASKS],
        ):
            if not group:
                continue
            kwargs = {"batch_size": 1, **spec}
            if group[0] in SEMANTICWIKI_TASKS:
                kwargs.pop("system_instruction", None)
            part = lm_eval.simple_evaluate(
                tasks=group,
                task_manager=TaskManager(include_path=str(EVAL_TASKS_DIR)),
                limit=limit,
                gen_kwargs=gen_kwargs or None,
                log_samples=True,
                bootstrap_iters=0,
                **kwargs,
            )
            if part is None:
                raise WikikitError("lm-eval returned no results")
            parts.append(part)
    return merge_lm_eval(parts)


def merge_lm_eval(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One lm-eval output from several simple_evaluate calls (their per-task maps joined)."""
    merged = dict(parts[0])
    for part in parts[1:]:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
    return merged


def _serializable(results: dict[str, Any]) -> Any:
    from lm_eval.utils import handle_non_serializable

    return json.loads(json.dumps(results, default=handle_non_serializable))


def _base_target(ctx: StageContext) -> ModelTarget:
    metrics = _train_metrics(ctx)
    base = (
        metrics.get("base_model_path")
        or metrics.get("base_model")
        or ctx.recipe.get(("model", "base"))
    )
    if not base:
        raise InputError(
            "eval.compare_base: no base model known (train/metrics.json or model.base)"
        )
    return ModelTarget("base", "hf", str(base))


def plan(ctx: StageContext) -> list[str]:
    section = ctx.section
    harness = section.get("harness", "lm-eval") == HARNESS
    tasks = list(section.get("tasks", () if harness else DEFAULT_TASKS))
    lines = []
    repos = heldout_names(section)
    if harness:
        lines += harness_plan(section, repos)
        if (section.get("heldout") or {}).get("benchmark"):
            lines.append(_benchmark_plan(repos, bool(section.get("compare_base"))))
    if tasks:
        lines.append(f"eval: {', '.join(tasks)} with lm-eval ({section.get('backend', 'hf')})")
        if section.get("compare_base"):
            lines.append("eval: also the base model, for a side-by-side table")
    if repos and any(t in SEMANTICWIKI_TASKS for t in tasks):
        n = (section.get("heldout") or {}).get("items", DEFAULT_ITEMS)
        lines.append(f"eval: up to {n} SemanticWiki page items from {', '.join(repos)}")
    judges = section.get("judges") or ([section["judge"]] if section.get("judge") else [])
    if judges and ("codewikibench" in tasks or harness):
        models = ", ".join(str(j.get("model")) for j in judges)
        lines.append(f"eval: CodeWikiBench judged leaf by leaf by {models}")
    return lines


def _benchmark_plan(repos: list[str], base: bool) -> str:
    """The dry run's count of benchmark repositories judged, by language group."""
    from wikikit.eval.codewikibench.report import language_groups

    groups = language_groups(repos)
    groups.pop("overall")
    return (
        f"eval: CodeWikiBench: {len(repos)} repositories judged"
        + (", fine-tuned and base" if base else "")
        + f" ({', '.join(f'{g} {len(m)}' for g, m in groups.items())}), each at its dataset row's "
        "commit_id; per repository, per language group and overall with 95% intervals"
    )


def inputs(section: dict[str, Any]) -> tuple[str, ...]:
    """The earlier stages this eval reads (wikikit.stage): train for the merged model (hf,
    vllm, a vLLM-served harness model) and the base model's name in train/metrics.json; package
    for its GGUF (the semanticwiki harness's default, eval.backend gguf without eval.gguf)."""
    harness = section.get("harness", "lm-eval") == HARNESS
    lm = bool(section.get("tasks", () if harness else DEFAULT_TASKS))
    backend = section.get("backend", "hf")
    spec = section.get("semanticwiki") or {}
    base = spec.get("base") or {}
    given = bool(os.environ.get(MODEL_ENV))  # `wikikit eval --model`: the model is named
    train = lm and ((backend in ("hf", "vllm") and not given) or bool(section.get("compare_base")))
    train = train or (
        harness
        and (
            (spec.get("serve") == "vllm" and not given)
            or (section.get("compare_base") and base.get("serve") == "vllm")
        )
    )
    package = not given and (
        reads_package(section) or (lm and backend == "gguf" and not section.get("gguf"))
    )
    return tuple(s for s, needed in (("train", train), ("package", package)) if needed)


@dataclass
class Measured:
    """Scores with intervals of one evaluation part (lm-eval tasks or the wiki harness)."""

    found: Intervals = field(default_factory=dict)
    base: Intervals | None = None
    diff: Intervals | None = None


def _merge(parts: list[Measured]) -> Measured:
    out = Measured()
    for part in parts:
        out.found.update(part.found)
        if part.base is not None:
            out.base = {**(out.base or {}), **part.base}
        if part.diff is not None:
            out.diff = {**(out.diff or {}), **part.diff}
    return out


def _tasks(section: dict[str, Any]) -> list[str]:
    harness = section.get("harness", "lm-eval")
    tasks = list(section.get("tasks", DEFAULT_TASKS if harness == "lm-eval" else ()))
    unknown = [t for t in tasks if t not in HEADLINE or t == WIKI_TASK]
    if unknown:
        raise InputError(f"eval.tasks: unknown task(s) {', '.join(unknown)}")
    if harness == HARNESS and "codewikibench" in tasks:
        raise InputError(
            "eval.tasks: codewikibench (hand-made wikis in one judge prompt) goes with "
            "eval.harness lm-eval; with the semanticwiki harness CodeWikiBench judges the "
            "client's wikis on the benchmark's rubrics: drop it from eval.tasks"
        )
    return tasks


def run_stage(ctx: StageContext) -> StageResult:
    section = ctx.section
    tasks = _tasks(section)
    harness = section.get("harness", "lm-eval") == HARNESS
    boot = section.get("bootstrap") or {}
    iters, seed = int(boot.get("iterations", DEFAULT_ITERATIONS)), int(boot.get("seed", 0))
    parts: list[Measured] = []
    out: dict[str, Any] = {"tasks": tasks}
    wiki = _wiki_harness(ctx, iters, seed) if harness else None
    wiki_outputs: list[str] = []
    if wiki is not None:
        parts.append(wiki.pop("measured"))
        wiki_outputs = wiki.pop("outputs")
        out["harness"] = wiki
    results = base_results = None
    scores: dict[str, dict[str, float]] = {}
    base_scores: dict[str, dict[str, float]] | None = None
    if tasks:
        limit = section.get("limit")
        gen_kwargs = (
            {"max_gen_toks": section["max_gen_tokens"]} if section.get("max_gen_tokens") else None
        )
        judge_env = _judge_env(ctx, tasks)
        judge_env.update(_heldout_env(ctx, tasks))
        # harmony prompts as the recipe's runtime feeds the deployed model (model.runtime)
        model_cfg = ctx.recipe.data.get("model") or {}
        judge_env[RUNTIME_ENV] = model_cfg.get("runtime", DEFAULT_RUNTIME)
        target = resolve_target(ctx)
        # known before the (long) fine-tuned run, so a missing base model fails fast
        base_target = _base_target(ctx) if section.get("compare_base") else None
        common = {
            "limit": limit,
            "gen_kwargs": gen_kwargs,
            "extra_env": judge_env,
            "log_dir": ctx.out_dir,
        }
        results = run_lm_eval(target, tasks, **common)
        scores = _scores(results, tasks)
        items = lm_eval_items(results, tasks)
        part = Measured(intervals(items, iters, seed))
        if base_target is not None:
            base_results = run_lm_eval(base_target, tasks, **common)
            base_scores = _scores(base_results, tasks)
            base_items = lm_eval_items(base_results, tasks)
            part.base = intervals(base_items, iters, seed)
            part.diff = differences(base_items, items, iters, seed)
        parts.append(part)
        out["model"] = {
            "backend": target.backend,
            "location": target.location,
            "name": target.model_name,
        }
    elif wiki is not None:
        tuned = wiki["models"]["fine-tuned"]
        out["model"] = {"backend": f"semanticwiki {tuned['how']}", "location": tuned["location"],
                        "name": tuned.get("name")}  # fmt: skip
    m = _merge(parts)
    measured_tasks = list(m.found)
    # the harness's scores are its interval points (whole wikis, one item per repository)
    for task in measured_tasks:
        if task not in scores:
            scores[task] = points({task: m.found[task]})[task]
            if m.base is not None and task in m.base:
                base_scores = {**(base_scores or {}), **points({task: m.base[task]})}
    gates = section.get("gates", {}) or {}
    verdicts = check_gates(gates, m.found)
    not_met = missed(verdicts)
    notes = _notes(tasks, wiki)
    write_json(
        ctx.out_dir / "results.json",
        {
            **out,
            "scores": scores,
            "base_scores": base_scores,
            "intervals": as_json(m.found),
            "base_intervals": as_json(m.base) if m.base is not None else None,
            "differences": as_json(m.diff) if m.diff is not None else None,
            "bootstrap": {"iterations": iters, "seed": seed, "level": 0.95,
                          "over": "items (lm-eval documents; held-out repositories for wikis)"},
            "targets": {
                t: {"metric": HEADLINE[t], "target": TARGETS[t]}
                for t in measured_tasks
                if t in HEADLINE
            },
            "gates": {
                "required": gates,
                "verdicts": [v.as_dict() for v in verdicts],
                "missed": not_met,
            },
            "notes": notes,
            "lm_eval": _serializable(results) if results else None,
            "lm_eval_base": _serializable(base_results) if base_results else None,
        },
    )  # fmt: skip
    write_text(
        ctx.out_dir / "results.md",
        results_markdown(m.found, m.base, m.diff, verdicts, notes, wiki),
    )
    counts = {t: scores[t].get(HEADLINE[t]) for t in measured_tasks if t in HEADLINE}
    outputs = ["results.json", "results.md", *wiki_outputs]
    if not_met:
        raise WikikitError("eval gates missed: " + "; ".join(not_met))
    summary = ", ".join(f"{t} {v:.3f}" for t, v in counts.items() if v is not None)
    return StageResult(outputs=outputs, counts=counts, summary=summary)


def _package_gguf(ctx: StageContext) -> Path:
    package = ctx.inputs.get("package") or ctx.run_dir / "package"
    found = package_ggufs(Path(package))
    if len(found) != 1:
        raise InputError(
            f"eval.harness semanticwiki: {len(found) or 'no'} GGUF files under {package}; "
            "run the package stage or set eval.semanticwiki.gguf (or url, or serve)"
        )
    return found[0].resolve()


def _wiki_harness(ctx: StageContext, iters: int, seed: int) -> dict[str, Any]:
    """The semanticwiki harness (wikikit.eval.harness): wikis, scores, judge, intervals."""
    from wikikit.eval.codewikibench.bench import make_judges
    from wikikit.eval.heldout import heldout_repos

    repos = heldout_repos(ctx)
    if not repos:
        raise InputError(
            "eval.heldout.repos: the semanticwiki harness writes wikis for the held-out "
            "repositories: name them there (each held out by data.holdout)"
        )
    tuned, base = harness_models(
        ctx,
        lambda: _package_gguf(ctx),
        lambda: _merged_model(ctx),
        lambda: _base_target(ctx).location,
        override=os.environ.get(MODEL_ENV),
    )
    rubrics = heldout_rubrics(ctx.run_dir / "data" / "rubrics", list(repos))
    configs, keys = judge_configs(ctx)
    judges = make_judges(configs, keys, ctx.cache_dir / "judge.sqlite") if rubrics else []
    runs = [run_harness(ctx, tuned, repos, rubrics, judges)]
    if base is not None:
        runs.append(run_harness(ctx, base, repos, rubrics, judges))
    tuned_items = runs[0].items()
    measured = Measured(intervals(tuned_items, iters, seed))
    if base is not None:
        base_items = runs[1].items()
        measured.base = intervals(base_items, iters, seed)
        measured.diff = differences(base_items, tuned_items, iters, seed)
    notes = [
        f"semanticwiki: SemanticWiki {CLIENT_VERSION} (--full-local, its own prompts and "
        f"sampling) wrote one wiki per held-out repository ({', '.join(sorted(repos))}); its "
        "scores and CodeWikiBench's are items per repository, so their intervals are a "
        f"bootstrap over {len(repos)} repositor{'y' if len(repos) == 1 else 'ies'} "
        "(none with one)."
    ]
    for r in runs:
        equal, why = r.model.served().label()
        notes.append(
            f"semanticwiki: {r.model.label} model asked as deployed (deployment_equal): "
            f"{'yes' if equal else 'no'}: {why}"
        )
    if ctx.section.get("compare_base") and base is None:
        notes.append(
            "semanticwiki: no base-model wikis: name the base for the client in "
            "eval.semanticwiki.base (its GGUF, a served URL, or serve: vllm)"
        )
    judged = {r.model.label: r.judged for r in runs if r.judged is not None}
    report = _benchmark_report(ctx, judged, iters, seed) if judged else None
    if not rubrics:
        notes.append(
            "codewikibench: not judged: the data stage wrote no rubrics for the held-out "
            "repositories (data/rubrics/; a codewikibench source with their rows)"
        )
    elif not judges:
        notes.append("codewikibench: not judged: set eval.judges (or eval.judge)")
    else:
        notes.append(UPSTREAM_ERROR_RULE)
    return {
        "name": HARNESS,
        "client": CLIENT_VERSION,
        "models": {r.model.label: r.model.as_json() for r in runs},
        "repos": {r.model.label: r.rows() for r in runs},
        "codewikibench": judged,
        "benchmark": report,
        "notes": notes,
        "measured": measured,
        "outputs": [p for r in runs for p in r.outputs(ctx.out_dir)],
    }


def _benchmark_report(
    ctx: StageContext, judged: dict[str, Any], iters: int, seed: int
) -> dict[str, Any]:
    """CodeWikiBench per repository, language group and overall, beside the published systems
    (`eval.heldout.published`: the benchmark's per-repository evaluation_results)."""
    from wikikit.eval.codewikibench.report import benchmark_report, published_scores

    heldout = ctx.section.get("heldout") or {}
    given = heldout.get("published")
    published = None
    if given:
        folder = ctx.recipe.resolve_path(given, ("eval", "heldout", "published"))
        repos = [r["repo"] for s in judged.values() for r in s["repos"]]
        published = published_scores(folder, sorted(set(repos)))
    return benchmark_report(judged, published, iters, seed, whole=bool(heldout.get("benchmark")))


def _heldout_env(ctx: StageContext, tasks: list[str]) -> dict[str, str | None]:
    """Where the SemanticWiki tasks find their held-out items and the repos to score them on."""
    if not any(t in SEMANTICWIKI_TASKS for t in tasks):
        return {}
    folder = build_items(ctx, ctx.out_dir)
    if folder is None:
        console.info(
            "eval: no eval.heldout.repos: semanticwiki_page uses the few items it ships "
            "(demo/ledger); name held-out repos for a real measurement"
        )
        return {}
    return {
        "WIKIKIT_EVAL_ITEMS": str(folder),
        "WIKIKIT_EVAL_REPOS": (folder / "repos.json").read_text(encoding="utf-8"),
    }


def _notes(tasks: list[str], wiki: dict[str, Any] | None = None) -> list[str]:
    notes = [
        "Each value carries a 95% percentile-bootstrap interval over the scored items; "
        "a gate passes only when the interval's lower end reaches it."
    ]
    if "codewikibench" in tasks:
        notes.append(UPSTREAM_ERROR_RULE)
    if wiki is not None:
        notes += [n for n in wiki["notes"] if n not in notes]
    return notes


def results_markdown(
    found: Intervals,
    base: Intervals | None,
    diff: Intervals | None,
    verdicts: list[GateVerdict],
    notes: list[str],
    wiki: dict[str, Any] | None = None,
) -> str:
    table = results_table(found, base, diff)
    text = f"# Evaluation\n\n{table}\n## Gates\n\n{gates_markdown(verdicts)}\n"
    if wiki is not None:
        text += "## Wikis SemanticWiki wrote\n\n" + wiki_table(wiki["repos"]) + "\n"
        text += "## Raw answers beside the files\n\n" + raw_files_table(wiki["repos"]) + "\n"
        if wiki.get("benchmark"):
            from wikikit.eval.codewikibench.report import report_markdown

            text += "## CodeWikiBench\n\n" + report_markdown(wiki["benchmark"]) + "\n"
    return text + "## Notes\n\n" + "".join(f"- {n}\n" for n in notes)
