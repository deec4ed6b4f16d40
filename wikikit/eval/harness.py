"""`eval.harness: semanticwiki`: the real client writes a wiki for every held-out repository with
the model under test, and the wikis are scored where the model will live.

For each repository of `eval.heldout.repos` (each held out by `data.holdout`, checked out at its
pinned commit), SemanticWiki 1.2.1 runs `generate --full-local` with its own prompts and
sampling (wikikit.semanticwiki.client.run_client), with one of:

- the package stage's GGUF (or `eval.semanticwiki.gguf`) loaded by the client itself
  (`--model-path`, node-llama-cpp: how users run the packaged model; the default);
- a served model behind wikikit's endpoint: `eval.semanticwiki.url` (any OpenAI-compatible URL:
  vLLM, llama.cpp's server, Ollama's host), or a server the stage starts on 127.0.0.1 for the
  run (`serve: vllm` on the train stage's merged model, with `eval.vllm`'s settings; `serve:
  llama.cpp` on the GGUF).

`eval.semanticwiki.base` names the base model the same way for `eval.compare_base` (a GGUF, a
URL, or `serve: vllm` on the recipe's base model). Every wiki, its recorded exchanges and the
client's log stay in `eval/wikis/<model>/<repo>/`; its scores (wikikit.eval.wiki) in
`scores.json` beside them. Where the data stage wrote the benchmark's rubrics for a repository
(`data/rubrics/<repo>.json`) and the recipe has judges, CodeWikiBench judges the wiki
(wikikit.eval.codewikibench), files in `eval/codewikibench/<model>/`. The scores become items
keyed by repository (wikikit.eval.results.wiki_items), so every share carries a bootstrap
interval over repositories and base vs fine-tuned pairs the same repositories.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_json
from wikikit.code.holdout import Holdout
from wikikit.code.repo import Repo
from wikikit.errors import InputError
from wikikit.eval.codewikibench.bench import Judge, judge_heldout, safe_name
from wikikit.eval.codewikibench.docs import docs_from_wiki
from wikikit.eval.codewikibench.judge import JudgeSettings
from wikikit.eval.results import Items, codewikibench_items, wiki_items
from wikikit.eval.wiki import WikiScore, score_wiki
from wikikit.semanticwiki.client import ClientModel, WikiRun
from wikikit.semanticwiki.deployment import CONTEXT_LENGTH, Served
from wikikit.stage import StageContext

HARNESS = "semanticwiki"
WIKI_TASK = "semanticwiki"  # the wiki metrics' task name in results.json
JUDGE_TASK = "codewikibench"  # CodeWikiBench on the client's wikis
DEFAULT_TIMEOUT_S = 6 * 3600  # one repository's whole wiki; a 20B model on CPU takes hours


@dataclass(frozen=True)
class WikiModel:
    """Which model writes the wikis, before any server is started."""

    label: str  # "fine-tuned" | "base"
    how: str  # "gguf" | "url" | "serve"
    location: str  # the GGUF, the URL, or what the server serves (a folder, a Hub id, a GGUF)
    name: str | None = None  # the served model's name (url)
    serve: str | None = None  # "vllm" | "llama.cpp"
    api_key: str | None = field(default=None, repr=False)  # from the environment only
    context: int | None = None  # the context a served model gets (serve)

    def served(self) -> Served:
        """What the model is to the eval, and how close that comes to the deployment."""
        kind = self.serve if self.how == "serve" else self.how
        return Served(str(kind), self.context)

    def describe(self) -> str:
        if self.how == "gguf":
            return f"{self.location} (--model-path)"
        if self.how == "serve":
            return f"{self.serve} serving {self.location}"
        return self.location + (f" ({self.name})" if self.name else "")

    def as_json(self) -> dict[str, Any]:
        return {"how": self.how, "location": self.location, "name": self.name, "serve": self.serve,
                **self.served().as_json()}  # fmt: skip


@dataclass
class RepoWiki:
    repo: Repo
    run: WikiRun
    score: WikiScore
    folder: Path


@dataclass
class HarnessRun:
    """One model's wikis over the held-out repos, and CodeWikiBench's verdict where judged."""

    model: WikiModel
    wikis: dict[str, RepoWiki]
    judged: dict[str, Any] | None = None  # judge_heldout's summary

    def items(self) -> Items:
        items = wiki_items({name: w.score for name, w in self.wikis.items()}, WIKI_TASK)
        if self.judged is not None and self.judged["repos"]:
            items.update(codewikibench_items(self.judged, JUDGE_TASK))
        return items

    def outputs(self, out_dir: Path) -> list[str]:
        """What the stage keeps of this model's runs, relative to its folder: each wiki the
        client wrote, its exchanges, recording, log and scores, and the judged trees (not the
        client's scratch HOME)."""
        keep = []
        for w in self.wikis.values():
            for name in ("wiki", "exchanges.jsonl", "record", "client.log", "scores.json"):
                if (w.folder / name).exists():
                    keep.append((w.folder / name).relative_to(out_dir).as_posix())
        judged = out_dir / "codewikibench" / safe_name(self.model.label)
        if judged.is_dir():
            keep.append(judged.relative_to(out_dir).as_posix())
        return keep

    def rows(self) -> list[dict[str, Any]]:
        """One row per repository: where its wiki is, what it cost, how it scores."""
        judged = {r["repo"]: r for r in (self.judged or {}).get("repos", [])}
        out = []
        for name, w in self.wikis.items():
            s = w.score.as_dict()
            row = {
                "repo": w.repo.id,
                "wiki": str(w.run.wiki_dir),
                "exchanges": str(w.run.exchanges),
                "log": str(w.run.log),
                "client_seconds": round(w.run.seconds, 1),
                "calls": w.run.calls,
                "pages": len(w.score.pages),
                "scores": s,
                "problems": len(w.score.problems),
                "deployment_equal": self.model.served().label()[0],
            }
            if name in judged:
                j = judged[name]
                row["codewikibench"] = {
                    k: j[k] for k in ("score", "std", "leaves", "excluded_leaves", "errors")
                }
            out.append(row)
        return out


# -- which model --------------------------------------------------------------------------


def _model(
    ctx: StageContext, spec: Mapping[str, Any], where: tuple, label: str, default: Any
) -> WikiModel:
    """One model spec (`eval.semanticwiki` or its `base`) -> WikiModel; `default(kind)` gives
    the location a spec does not name: the GGUF (kind "gguf") or vLLM's model (kind "vllm")."""
    at = ".".join(where)
    serve = spec.get("serve")
    if spec.get("url") and (spec.get("gguf") or serve):
        raise InputError(f"{at}: url names a served model; it takes no gguf or serve")
    if serve == "vllm" and spec.get("gguf"):
        raise InputError(f"{at}: serve: vllm serves a Hugging Face model, not a gguf")
    if spec.get("url"):
        key = ctx.recipe.secret((*where, "api_key")) if spec.get("api_key") else None
        return WikiModel(label, "url", str(spec["url"]), spec.get("model_name"), api_key=key)
    if serve == "vllm":
        context = int((ctx.section.get("vllm") or {}).get("max_model_len") or CONTEXT_LENGTH)
        return WikiModel(label, "serve", str(default("vllm")), serve="vllm", context=context)
    gguf = (
        str(ctx.recipe.resolve_path(spec["gguf"], (*where, "gguf")))
        if spec.get("gguf")
        else str(default("gguf"))
    )
    if not Path(gguf).is_file():
        raise InputError(f"{at}.gguf: no such GGUF file: {gguf}")
    if serve == "llama.cpp":
        context = int((ctx.section.get("semanticwiki") or {}).get("context_size", CONTEXT_LENGTH))
        return WikiModel(label, "serve", gguf, serve="llama.cpp", context=context)
    return WikiModel(label, "gguf", gguf)


def _spec_text(spec: Mapping[str, Any], gguf: str, hf: str) -> str:
    """How a model spec reads in a plan line; `gguf` and `hf` name the defaults."""
    if spec.get("url"):
        return str(spec["url"]) + (f" ({spec['model_name']})" if spec.get("model_name") else "")
    if spec.get("serve") == "vllm":
        return f"vllm serve on {hf}"
    where = spec.get("gguf") or gguf
    return f"llama.cpp's server on {where}" if spec.get("serve") else f"{where} (--model-path)"


def harness_plan(section: Mapping[str, Any], repos: Sequence[str]) -> list[str]:
    """`wikikit run --dry-run` lines for the harness."""
    spec = section.get("semanticwiki") or {}
    lines = [
        f"eval: SemanticWiki writes a whole wiki (--full-local, its own prompts and sampling) for "
        f"each of {len(repos)} held-out repo(s) ({', '.join(repos) or 'none named: an error'}) "
        f"with {_spec_text(spec, 'the package stage GGUF', 'the merged model')}"
    ]
    if section.get("compare_base"):
        base = spec.get("base")
        lines.append(
            "eval: and with the base model, "
            + (
                _spec_text(base, "(no GGUF named)", "the base model")
                if base
                else "not named (eval.semanticwiki.base)"
            )
        )
    return lines


def reads_package(section: Mapping[str, Any]) -> bool:
    """True when the harness writes its wikis with the package stage's GGUF."""
    spec = section.get("semanticwiki") or {}
    return (
        section.get("harness") == HARNESS
        and not spec.get("gguf")
        and not spec.get("url")
        and spec.get("serve") != "vllm"
    )


def models(
    ctx: StageContext,
    package_gguf: Any,
    merged_model: Any,
    base_model: Any,
    override: str | None = None,
) -> tuple[WikiModel, WikiModel | None]:
    """The fine-tuned model and, with compare_base, the base (None when the recipe does not
    say what the base is for the client: eval.semanticwiki.base). The three callables give the
    package stage's GGUF, the train stage's merged model and the base model, when needed;
    `override` is `wikikit eval --model` (a .gguf, a served URL, ollama:NAME)."""
    section = ctx.section.get("semanticwiki") or {}
    where = ("eval", "semanticwiki")
    if override:
        given = ClientModel.parse(override, "--model (the semanticwiki harness)")
        how = "gguf" if given.kind == "gguf" else "url"
        tuned = WikiModel("fine-tuned", how, str(given.path or given.url), given.name)
    else:
        tuned = _model(
            ctx,
            section,
            where,
            "fine-tuned",
            lambda k: merged_model() if k == "vllm" else package_gguf(),
        )
    base = None
    if ctx.section.get("compare_base") and section.get("base"):

        def base_default(kind: str) -> Any:
            if kind == "vllm":
                return base_model()
            raise InputError(
                "eval.semanticwiki.base: name the base model's GGUF (gguf), a served URL (url), "
                "or serve: vllm"
            )

        base = _model(ctx, section["base"], (*where, "base"), "base", base_default)
    return tuned, base


@contextlib.contextmanager
def client_model(model: WikiModel, ctx: StageContext, log_dir: Path) -> Iterator[ClientModel]:
    """What run_client gets for `model`, with its server running for the block when the stage
    starts one."""
    from wikikit.eval.local_server import SERVED_ALIAS, llama_cpp_server
    from wikikit.eval.vllm import SERVED_NAME, vllm_server

    if model.how == "gguf":
        yield ClientModel("gguf", path=Path(model.location))
    elif model.how == "url":
        yield ClientModel("endpoint", url=model.location, name=model.name, api_key=model.api_key,
                          served=model.served())  # fmt: skip
    elif model.serve == "vllm":
        log = log_dir / f"vllm_serve.{safe_name(model.label)}.log"
        options = {**(ctx.section.get("vllm") or {}), "max_model_len": model.context}
        with vllm_server(model.location, options, log) as url:
            yield ClientModel("endpoint", url=url, name=SERVED_NAME, served=model.served())
    else:
        n_ctx = int(model.context or CONTEXT_LENGTH)
        log = log_dir / f"llama_cpp_server.{safe_name(model.label)}.log"
        with llama_cpp_server(model.location, n_ctx, log) as url:
            yield ClientModel("endpoint", url=url, name=SERVED_ALIAS, served=model.served())


# -- writing and scoring the wikis ----------------------------------------------------------


def write_wikis(
    ctx: StageContext,
    model: WikiModel,
    repos: Mapping[str, Repo],
    *,
    run_client: Any = None,
) -> dict[str, RepoWiki]:
    """The client writes each repository's wiki with `model`; each is scored on the spot."""
    from wikikit.semanticwiki import client

    section = ctx.section.get("semanticwiki") or {}
    timeout_s = float(section.get("timeout_s", DEFAULT_TIMEOUT_S))
    threads = section.get("threads")
    # a repeatable draw (the client's sampling settings stay its own): the recipe's seed
    seed = int(section["seed"]) if section.get("seed") is not None else ctx.recipe.seed
    run = run_client or client.run_client
    out: dict[str, RepoWiki] = {}
    with client_model(model, ctx, ctx.out_dir / "wikis" / safe_name(model.label)) as target:
        for i, (name, repo) in enumerate(sorted(repos.items()), 1):
            folder = ctx.out_dir / "wikis" / safe_name(model.label) / safe_name(name)
            console.info(
                f"eval: SemanticWiki writes the wiki of {repo.id} ({i}/{len(repos)}) with the "
                f"{model.label} model, {model.describe()}"
            )
            wiki = run(repo, target, folder, timeout_s=timeout_s, threads=threads, seed=seed)
            score = score_wiki(wiki.wiki_dir, repo, wiki.exchanges, log=wiki.log)
            record = score.record(repo, model.as_json(), wiki.seconds, wiki.calls)
            record["retrieval"] = wiki.retrieval  # the client's code search (retrieval.py)
            write_json(folder / "scores.json", record)
            cost = score.as_dict()
            console.info(
                f"eval: {repo.id}: {len(score.pages)} pages, {wiki.calls} calls in "
                f"{wiki.seconds:.0f} s; references right {_pct(cost['refs_right'])}, "
                f"Mermaid valid {_pct(cost['mermaid_valid'])}, links {_pct(cost['links'])}"
            )
            out[name] = RepoWiki(repo, wiki, score, folder)
    return out


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def heldout_rubrics(rubrics_dir: Path, repos: Sequence[str]) -> dict[str, Path]:
    """{held-out repo: its rubrics file} among the data stage's `rubrics/<repo_name>.json`
    (CodeWikiBench's bare repo_name, `/` written as `__`), matched as data.holdout matches."""
    found: dict[str, Path] = {}
    files = sorted(Path(rubrics_dir).glob("*.json")) if Path(rubrics_dir).is_dir() else []
    for name in repos:
        match = [p for p in files if Holdout([name]).matches(p.stem.replace("__", "/"))]
        if match:
            found[name] = match[0]
    return found


def judge_wikis(
    ctx: StageContext,
    label: str,
    wikis: Mapping[str, RepoWiki],
    rubrics: Mapping[str, Path],
    judges: Sequence[Judge],
) -> dict[str, Any] | None:
    """CodeWikiBench on every wiki whose repository has rubrics; None when none is judged."""
    todo = {
        name: (rubrics[name], docs_from_wiki(name, w.run.wiki_dir))
        for name, w in wikis.items()
        if name in rubrics
    }
    if not todo or not judges:
        return None
    settings = JudgeSettings.from_config(ctx.section.get("judging"))
    return judge_heldout(todo, judges, settings, ctx.out_dir / "codewikibench" / safe_name(label))


def run_harness(
    ctx: StageContext,
    model: WikiModel,
    repos: Mapping[str, Repo],
    rubrics: Mapping[str, Path],
    judges: Sequence[Judge],
    *,
    run_client: Any = None,
) -> HarnessRun:
    wikis = write_wikis(ctx, model, repos, run_client=run_client)
    return HarnessRun(model, wikis, judge_wikis(ctx, model.label, wikis, rubrics, judges))
