"""`kind: semanticwiki`: the real SemanticWiki client asks, an answerer answers, every call is kept.

The pinned client (wikikit.semanticwiki.install) runs `generate --full-local --use-ollama` on
each repository, at its pinned commit, with wikikit's endpoint as its model server in front of
the source's answerer (`teacher`, `replay`, `model` or `grounded`; wikikit.semanticwiki.answerers). Every
call of its last pass becomes one Example of category `plan`, `page` or `index`: the messages
are the system and user prompts exactly as the client sent them and the answer (with its
thinking, when the answerer has one); `meta.protocol` names the client and mode.

Repositories come from `repos:` and/or from the rows of a CodeWikiBench dataset
(`codewikibench:`, each at its `commit_id`); held-out repositories (`data.holdout`) are skipped
and counted. A repository's recording (`<cache>/semanticwiki/<answerer>/<repo>/`) is reused by a
later run or another source with the same answerer, client and commit, when it is complete.

Facts for the quality filters ride in `meta` (wikikit.data.filters.local_mode): the page title,
the files the prompt's code context shows, and how many of the answer's references cite a file
(and a line) that context shows; the counts are summed in the source's stats.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_json
from wikikit.code import site_packages
from wikikit.code.holdout import Holdout
from wikikit.code.refs import parse_refs
from wikikit.code.repo import Repo, is_git_url
from wikikit.data.sources import SourceContext
from wikikit.data.sources._repos import add_repo_stats, open_source_repo
from wikikit.data.sources.wiki_sections import language_of_paths
from wikikit.deepwiki.wiki import Wiki
from wikikit.errors import InputError, WikikitError
from wikikit.example import Example, Message, Ref, example_id
from wikikit.semanticwiki import protocol, session
from wikikit.semanticwiki.install import ClientSpec, ensure_client
from wikikit.semanticwiki.retrieval import announce as announce_retrieval

DEFAULT_TIMEOUT_S = 3600
DEFAULT_MAX_PASSES = 8
DEFAULT_WAVE = 32  # repositories recorded together; see record() in session.py


@dataclass
class Target:
    """One repository the client will document."""

    name: str  # as the recipe or the dataset names it (owner/name, repo_name)
    spec: Any  # a repo spec for open_source_repo
    index: Any  # its key under `repos` (a list index or a repo_name), for error messages
    row: dict[str, Any] | None = None  # its CodeWikiBench row, when it came from one
    repo: Repo | None = None

    @property
    def wiki_name(self) -> str:
        """The owner/name a DeepWiki wiki has: the name, or the GitHub URL's path."""
        if "/" in self.name:
            return self.name
        url = self.spec.get("url") if isinstance(self.spec, dict) else self.spec
        m = re.match(
            r"^(?:https?://|git@)github\.com[/:]([^/]+/[^/]+?)(?:\.git)?/?$", str(url or "")
        )
        return m.group(1) if m else self.name

    @property
    def key(self) -> str:
        assert self.repo is not None
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.repo.id)[:120]


def _where(ctx: SourceContext, name: str) -> str:
    return ".".join(map(str, ctx.key_path)) or f"data.sources.{name}"


def holdout_of(ctx: SourceContext) -> Holdout:
    """The data stage's holdout (ctx.holdout), else the recipe's `data.holdout`."""
    if getattr(ctx, "holdout", None):
        return ctx.holdout
    data = (getattr(ctx.recipe, "data", None) or {}).get("data") or {}
    return Holdout(data.get("holdout") or [])


def _spec_name(spec: Any) -> str:
    if site_packages.spec_name(spec):
        return str(site_packages.spec_name(spec))
    if isinstance(spec, dict):
        return str(spec.get("name") or spec.get("url") or spec.get("path") or "")
    return str(spec)


def _held(holdout: Holdout, spec: Any, name: str) -> bool:
    urls = [spec.get("url")] if isinstance(spec, dict) and spec.get("url") else []
    return any(holdout.matches(n) for n in [name, *urls])


def resolve_targets(
    name: str, config: dict[str, Any], ctx: SourceContext, holdout: Holdout
) -> list[Target]:
    """The repositories of `repos:` and of the `codewikibench:` rows, held-out ones skipped."""
    stats = ctx.stats[name]
    targets: list[Target] = []
    for i, spec in enumerate(config.get("repos") or []):
        label = _spec_name(spec)
        if _held(holdout, spec, label):
            stats["holdout_repos"] += 1
            continue
        targets.append(Target(label, spec, i))
    bench = config.get("codewikibench")
    if bench:
        from wikikit.data.sources.codewikibench import load_rows

        sub = dataclasses.replace(ctx, key_path=(*ctx.key_path, "codewikibench"))
        checkouts = bench.get("repos") or {}
        for row in load_rows(bench, sub, _where(sub, name)):
            repo_name = str(row.get("repo_name") or "")
            commit = str(row.get("commit_id") or "") or None
            spec = checkouts.get(repo_name)
            if _held(holdout, spec if isinstance(spec, dict) else {}, repo_name):
                stats["holdout_repos"] += 1
                continue
            if spec is None:
                if "/" not in repo_name:
                    raise InputError(
                        f"{_where(sub, name)}.repos: no checkout for {repo_name!r}: name its "
                        "git URL (or path) there, e.g. {url: https://github.com/OWNER/REPO}"
                    )
                spec = {"url": f"https://github.com/{repo_name}"}
            if isinstance(spec, str):
                spec = {"url": spec} if is_git_url(spec) else {"path": spec}
            spec = dict(spec)
            spec.setdefault("name", repo_name)
            if commit and not spec.get("commit"):
                spec["commit"] = commit
            targets.append(Target(repo_name, spec, f"codewikibench.repos.{repo_name}", row))
    limit = config.get("max_repos")
    return targets[: int(limit)] if limit else targets


def open_target(target: Target, ctx: SourceContext, config: dict[str, Any]) -> Repo:
    max_bytes = int(config.get("max_file_bytes", 1_000_000))
    if isinstance(target.index, str):  # a dataset row's checkout, under codewikibench.repos
        sub = dataclasses.replace(ctx, key_path=(*ctx.key_path, "codewikibench"))
        return open_source_repo(target.spec, target.name, sub, max_bytes)
    return open_source_repo(target.spec, target.index, ctx, max_bytes)


# -- answerers ------------------------------------------------------------------------------


def _teacher_batch(answerer: dict[str, Any], ctx: SourceContext):
    from wikikit.semanticwiki.answerers import TeacherBatch
    from wikikit.teachers import make_teacher

    key = (*ctx.key_path, "answerer", "teacher")
    teacher = dict(answerer.get("teacher") or {})
    if not teacher:
        raise InputError(f"{'.'.join(map(str, key))}: a teacher answerer needs `teacher:`")
    cache = (
        ctx.recipe.resolve_path(teacher["cache"], (*key, "cache"))
        if teacher.get("cache")
        else Path(ctx.cache_dir) / "teacher.sqlite"
    )
    offline = bool(teacher.get("offline"))
    api_key = (
        ctx.recipe.secret((*key, "api_key")) if teacher.get("api_key") and not offline else None
    )
    where = ".".join(map(str, key))
    # Lookups read the cache one prompt at a time (never a batch); the live teacher answers a
    # pass's deferred prompts with complete_many: in batch mode, as one Message Batch.
    lookup = make_teacher(
        {**teacher, "offline": True, "batch": False},
        api_key=None, cache_path=cache, seed=ctx.seed, key_path=where,
    )  # fmt: skip
    live = (
        None
        if offline
        else make_teacher(teacher, api_key=api_key, cache_path=cache, seed=ctx.seed, key_path=where)
    )
    return TeacherBatch(lookup, live), str(cache)


def _wikis(
    name: str, answerer: dict[str, Any], ctx: SourceContext, targets: list[Target]
) -> dict[str, Wiki]:
    from wikikit.data.sources import reference_wikis

    kind = answerer.get("wiki", "deepwiki")
    if kind == "codewikibench":
        return {t.name: reference_wikis.codewikibench_wiki(t.row) for t in targets if t.row}
    settings = dict(answerer.get("deepwiki") or {})
    wikis = reference_wikis.deepwiki_wikis(
        [t.wiki_name for t in targets], settings, ctx.cache_dir, name, ctx.stats[name]
    )
    return {t.name: wikis[t.wiki_name] for t in targets if t.wiki_name in wikis}


def _fingerprint(payload: Any) -> str:
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _public(config: dict[str, Any]) -> dict[str, Any]:
    """A config without its secrets (they never enter a fingerprint or a file)."""
    return {
        k: _public(v) if isinstance(v, dict) else v
        for k, v in config.items()
        if k not in ("api_key", "token")
    }


class _Answerers:
    """The source's answerer kind: one answerer per repository, a shared settle and close."""

    def __init__(
        self, name: str, config: dict[str, Any], ctx: SourceContext, targets: list[Target]
    ):
        self.config = config.get("answerer") or {}
        self.kind = self.config.get("kind")
        self.batch = None
        self.model = None
        self.wikis: dict[str, Wiki] = {}
        where = f"{_where(ctx, name)}.answerer"
        if self.kind == "teacher":
            self.batch, cache = _teacher_batch(self.config, ctx)
            self.identity = {"teacher": _public(self.config.get("teacher") or {}), "cache": cache}
        elif self.kind == "replay":
            self.wikis = _wikis(name, self.config, ctx, targets)
            self.identity = {"replay": self.config.get("wiki", "deepwiki")}
        elif self.kind == "model":
            from wikikit.semanticwiki.answerers import ModelAnswerer

            if not self.config.get("base_url") or not self.config.get("model"):
                raise InputError(f"{where}: a model answerer needs base_url and model")
            key = self.config.get("api_key") and ctx.recipe.secret(
                (*ctx.key_path, "answerer", "api_key")
            )
            self.model = ModelAnswerer(
                self.config["base_url"],
                self.config["model"],
                api_key=key or None,
                timeout_s=float(self.config.get("timeout_s", 600)),
            )
            self.identity = {"model": _public(self.config)}
        elif self.kind == "grounded":
            from wikikit.semanticwiki.grounded import VERSION

            self.identity = {"grounded": VERSION}
        else:
            raise InputError(f"{where}.kind: must be teacher, replay, model or grounded")

    def for_target(self, target: Target) -> Any | None:
        from wikikit.semanticwiki.answerers import ReplayAnswerer, TeacherAnswerer

        if self.kind == "teacher":
            return TeacherAnswerer(self.batch)
        if self.kind == "replay":
            wiki = self.wikis.get(target.name)
            return ReplayAnswerer(wiki) if wiki and wiki.pages else None
        if self.kind == "grounded":
            from wikikit.semanticwiki.grounded import GroundedAnswerer

            assert target.repo is not None
            return GroundedAnswerer(target.repo)
        return self.model

    def wiki_commit(self, target: Target) -> str | None:
        wiki = self.wikis.get(target.name)
        return wiki.commit if wiki is not None else None

    def wiki_identity(self, target: Target) -> Any:
        wiki = self.wikis.get(target.name)
        if wiki is None:
            return None
        return _fingerprint([wiki.commit, [p.markdown for p in wiki.pages]])

    @property
    def settle(self):
        return self.batch.settle if self.batch is not None else None

    def stats(self) -> dict[str, Any]:
        return self.batch.stats() if self.batch is not None else {}

    def close(self) -> None:
        if self.batch is not None:
            self.batch.close()
        if self.model is not None:
            self.model.close()


# -- the source -----------------------------------------------------------------------------


def client_spec(client: dict[str, Any], ctx: SourceContext) -> ClientSpec:
    def path(key: str) -> Path | None:
        value = client.get(key)
        return ctx.recipe.resolve_path(value, (*ctx.key_path, "client", key)) if value else None

    return ClientSpec.from_env(
        install=path("install"), tgz=path("tgz"), embeddings=path("embeddings")
    )


def generate(name: str, config: dict[str, Any], ctx: SourceContext) -> Iterator[Example]:
    if ctx.dry_run:
        return
    stats = ctx.stats[name]
    client = config.get("client") or {}
    calls = list(config.get("calls") or protocol.CALLS)
    targets = resolve_targets(name, config, ctx, holdout_of(ctx))
    if not targets:
        console.warn(f"{name}: no repositories to run SemanticWiki on")
        return
    answerers = _Answerers(name, config, ctx, targets)
    failed: dict[str, str] = {}  # repository -> why it gave no recording (clone, client, ...)
    first_error: WikikitError | None = None
    for target in targets:
        commit = answerers.wiki_commit(target)
        if commit and isinstance(target.spec, dict):
            # A reference wiki was written for one commit: its references hold there.
            target.spec = {**target.spec, "commit": commit}
            stats["commit_from_wiki"] += 1
        try:
            target.repo = open_target(target, ctx, config)
        except WikikitError as exc:  # a clone that fails is one repository lost, not the run
            first_error = first_error or exc
            failed[target.name] = f"open: {exc}"[:500]
            stats["repos_failed_open"] += 1
    opened = [t for t in targets if t.repo is not None]
    if first_error is not None and not opened:
        answerers.close()
        raise first_error
    try:
        yield from _record_and_build(
            name, config, ctx, opened, answerers, client, calls, stats, failed
        )
    finally:
        for k, v in answerers.stats().items():
            stats[k] += v
        answerers.close()
        for target in targets:
            if target.repo is not None:
                add_repo_stats(stats, target.repo)


def _record_and_build(
    name, config, ctx, targets, answerers, client, calls, stats, failed
) -> Iterator[Example]:
    install = ensure_client(client_spec(client, ctx))
    model = str(client.get("model_name") or session.DEFAULT_MODEL_NAME)
    skip_index = bool(client.get("skip_index", False))
    base = {
        "client": install.version,
        "answerer": answerers.identity,
        "model": model,
        "skip_index": skip_index,
        # an install that gained faiss-node records afresh: its page prompts hold other chunks
        "faiss": bool(install.faiss),
    }
    cache_dir = Path(ctx.cache_dir)
    work = cache_dir / "semanticwiki" / _fingerprint(base)
    jobs, reused = {}, {}
    for target in targets:
        answerer = answerers.for_target(target)
        if answerer is None:
            stats["repos_without_wiki"] += 1
            continue
        ident = _fingerprint([base, target.repo.id, answerers.wiki_identity(target)])
        done = _load_done(work / target.key, ident, cache_dir)
        if done is not None:
            reused[target.key] = done
            stats["recordings_reused"] += 1
            continue
        jobs[target.key] = (target, session.Job(target.key, target.repo.root, answerer), ident)
    console.info(
        f"{name}: SemanticWiki {install.version} on {len(jobs)} repositories "
        f"({answerers.kind} answerer{f', {len(reused)} recordings reused' if reused else ''})"
    )
    entries: dict[str, dict[str, Any]] = dict(reused)
    progress = _Progress(name, len(jobs), answerers)

    def on_done(result: session.PassResult, passes: int, seconds: float) -> None:
        # Runs as each repository finishes: its done.json, written atomically, is what lets a
        # killed run skip it next time (the client and the teacher are never asked again).
        target, _, ident = jobs[result.job.key]
        entry = _pass_entry(result, passes, cache_dir)
        if result.retrieval is not None:
            announce_retrieval(result.retrieval, f"recording {target.repo.id}")
        if not result.run.ok:
            failed[target.repo.id] = f"client: {result.run.log_tail()} (log: {result.run.log})"
            if result.run.embeddings_failed():
                # every repository would fail alike: stop at the first
                raise WikikitError(
                    f"{_where(ctx, name)}: SemanticWiki could not load an embedding model "
                    "(offline with no seeded cache?): set client.embeddings or "
                    f"WIKIKIT_SEMANTICWIKI_MODELS, or client.skip_index: true (log: {result.run.log})"
                )
        else:
            if entry["pending"] == 0:
                write_json(
                    work / result.job.key / "done.json",
                    {"ident": ident, "seconds": round(seconds, 3), **entry},
                )  # "seconds" is for the cache only: not stable
            else:
                stats["repos_incomplete"] += 1  # kept, but recorded again by the next run
            entries[result.job.key] = entry
        progress.done(len(result.exchanges), ok=result.run.ok)

    recording = session.record(
        install,
        [job for _, job, _ in jobs.values()],
        work,
        settle=answerers.settle,
        max_passes=int(client.get("max_passes", DEFAULT_MAX_PASSES)),
        parallel=int(client.get("parallel", 1)),
        wave=int(client.get("wave", DEFAULT_WAVE)),
        model=model,
        timeout_s=float(client.get("timeout_s", DEFAULT_TIMEOUT_S)),
        skip_index=skip_index,
        on_pass=lambda r: console.info(
            f"{name}: {r.job.key} pass {r.number}: {len(r.exchanges)} calls "
            f"({r.pending} deferred) in {r.run.seconds:.1f} s"
            + ("" if r.run.ok else f", client failed (log: {r.run.log})")
        ),
        on_done=on_done,
    )
    for key, why in recording.errors.items():
        failed[jobs[key][0].repo.id] = f"error: {why}"
        progress.done(0, ok=False)
    stats["repos_failed"] += len(failed)
    stats["client_failed"] += sum(1 for why in failed.values() if why.startswith("client:"))
    for repo, why in failed.items():
        console.warn(f"{name}: SemanticWiki failed on {repo}: {why}")
    if failed:
        # Named for quality.json's readers; a later run retries them (they have no done.json).
        ctx.artifacts[f"semanticwiki/{name}/failed.json"] = dict(sorted(failed.items()))
    if failed and not entries:
        repo, why = next(iter(failed.items()))
        raise WikikitError(
            f"{_where(ctx, name)}: SemanticWiki failed on every repository: {repo}: {why}"
        )
    # What each repository's recording holds (paths relative to the data stage's cache).
    ctx.artifacts[f"semanticwiki/{name}/recordings.json"] = {
        t.repo.id: {k: v for k, v in entries[t.key].items() if k not in ("ident", "seconds")}
        for t in targets
        if t.key in entries
    }
    for target in targets:
        entry = entries.get(target.key)
        if entry is None:
            continue
        exchanges = _read_exchanges(cache_dir / entry["exchanges"])
        _count_exchanges(stats, exchanges, entry)
        yield from examples_from_exchanges(
            exchanges, target.repo, answerers.kind, calls, stats, entry.get("retrieval")
        )


class _Progress:
    """One console line per finished repository: done/total, client calls, teacher dollars
    and the time left at the rate so far."""

    def __init__(self, name: str, total: int, answerers: _Answerers):
        self.name, self.total, self.answerers = name, total, answerers
        self.finished = self.calls = self.failed = 0
        self.start = time.monotonic()
        self.lock = threading.Lock()  # on_done runs on the clients' threads

    def done(self, calls: int, *, ok: bool) -> None:
        with self.lock:
            self.finished += 1
            self.calls += calls
            self.failed += 0 if ok else 1
            elapsed = time.monotonic() - self.start
            left = elapsed / self.finished * (self.total - self.finished)
            usd = float(self.answerers.stats().get("usd", 0.0))
            console.info(
                f"{self.name}: repositories {self.finished}/{self.total} done"
                + (f" ({self.failed} failed)" if self.failed else "")
                + f", {self.calls} calls, ${usd:.2f}, ~{left:.0f} s left",
                done=self.finished,
                total=self.total,
                calls=self.calls,
                usd=usd,
                eta_s=left,
            )


def _pass_entry(result: session.PassResult, passes: int, cache_dir: Path) -> dict[str, Any]:
    statuses = Counter(e["status"] for e in result.exchanges)
    record = result.folder / "record"
    return {
        "exchanges": str((record / "exchanges.jsonl").relative_to(cache_dir)),
        "requests_log": str((record / "requests.jsonl").relative_to(cache_dir)),
        "client_log": str(result.run.log.relative_to(cache_dir)),
        "passes": passes,
        "returncode": result.run.returncode,
        "calls": dict(Counter(str(e["call"]) for e in result.exchanges)),
        "pending": statuses.get("pending", 0),
        "statuses": dict(statuses),
        "retrieval": result.retrieval.record() if result.retrieval is not None else None,
    }


def _load_done(folder: Path, ident: str, cache_dir: Path) -> dict[str, Any] | None:
    path = folder / "done.json"
    if not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if entry.get("ident") != ident or not (cache_dir / entry["exchanges"]).is_file():
        return None
    return entry


def _read_exchanges(path: Path) -> list[dict[str, Any]]:
    from wikikit.bounded import read_jsonl

    return read_jsonl(path)


def _count_exchanges(stats: Counter, exchanges: list[dict], entry: dict[str, Any]) -> None:
    stats["repos"] += 1
    stats["client_passes"] += int(entry.get("passes", 1))
    for e in exchanges:
        stats["exchanges"] += 1
        stats[f"exchanges_{e['call'] or 'other'}"] += 1
        stats[f"status_{e['status']}"] += 1


def _reference_facts(call: str, user: str, answer: str) -> tuple[list[Ref], dict[str, Any]]:
    refs = [m for m in parse_refs(answer) if m.start is not None]
    facts: dict[str, Any] = {"refs_total": len(refs)}
    if call == "page":
        prompt = protocol.parse_page_prompt(user)
        facts.update(
            title=prompt.title,
            page_type=prompt.page_type,
            context_files=prompt.context_files,
            refs_file_in_context=sum(1 for m in refs if prompt.shows(m.path)),
            refs_line_in_context=sum(1 for m in refs if prompt.shows(m.path, m.start)),
        )
    unique = list(dict.fromkeys(Ref(m.path, int(m.start), int(m.end or m.start)) for m in refs))
    return unique, facts


def examples_from_exchanges(
    exchanges: list[dict[str, Any]],
    repo: Repo,
    answerer: str,
    calls: list[str],
    stats: Counter,
    retrieval: dict[str, Any] | None = None,
) -> Iterator[Example]:
    """One Example per answered call of a recording (the client's retries counted once);
    `retrieval` is the recording's (wikikit.semanticwiki.retrieval), named in every meta."""
    searched = (
        {k: retrieval.get(k) for k in ("mode", "embedding_model", "deployment_equal")}
        if retrieval
        else None
    )
    seen: set[tuple[str | None, str]] = set()
    language = None
    for e in exchanges:
        call = e.get("call")
        if call not in calls:
            stats[
                "skipped_call_not_wanted" if call in protocol.CALLS else "skipped_unknown_call"
            ] += 1
            continue
        if e["status"] != "answered" or not (e.get("answer") or "").strip():
            reason = (e.get("meta") or {}).get("declined") and "declined" or e["status"]
            stats[f"skipped_{'held' if (e.get('meta') or {}).get('held') else reason}"] += 1
            continue
        if (e.get("meta") or {}).get("stop_reason") in ("length", "max_tokens"):
            stats["skipped_truncated"] += 1  # the teacher hit its max_tokens: half an answer
            continue
        if (e.get("system"), e["user"]) in seen:
            stats["skipped_repeated_prompt"] += 1
            continue
        seen.add((e.get("system"), e["user"]))
        if language is None:
            language = language_of_paths(repo.iter_files())
        refs, facts = _reference_facts(call, e["user"], e["answer"])
        for k in ("refs_total", "refs_file_in_context", "refs_line_in_context"):
            stats[k] += facts.get(k, 0)
        messages = []
        if e.get("system"):
            messages.append(Message("system", e["system"]))
        messages += [
            Message("user", e["user"]),
            Message("assistant", e["answer"], thinking=e.get("thinking") or None),
        ]
        stats[f"examples_{call}"] += 1
        yield Example(
            id=example_id("semanticwiki", answerer, repo.id, call, e.get("system"), e["user"]),
            messages=messages,
            source="semanticwiki",
            category=call,
            language=language,
            repo=repo.id,
            refs=refs,
            meta={
                "protocol": protocol.PROTOCOL,
                "client_version": protocol.CLIENT_VERSION,
                "answerer": answerer,
                "call": call,
                "options": e.get("options") or {},
                **facts,
                **{k: v for k, v in (e.get("meta") or {}).items() if k in ("page", "filename")},
                "retrieval": searched,
                **({"recorded": e["date"]} if e.get("date") else {}),
            },
        )


def plan_lines(name: str, config: dict[str, Any], ctx: SourceContext) -> list[str]:
    answerer = (config.get("answerer") or {}).get("kind", "?")
    repos = len(config.get("repos") or [])
    where = f"{repos} listed repositories" + (
        " plus the CodeWikiBench rows" if config.get("codewikibench") else ""
    )
    line = (
        f"semanticwiki source '{name}': SemanticWiki {protocol.CLIENT_VERSION} (--full-local) on "
        f"{where}, {answerer} answerer, calls {', '.join(config.get('calls') or protocol.CALLS)}"
    )
    if answerer != "teacher":
        return [line]
    teacher = (config.get("answerer") or {}).get("teacher") or {}
    if teacher.get("offline"):
        return [line + "; offline: every answer comes from the teacher cache, nothing is spent"]
    first = _same_recording(name, config, ctx)
    if first != name:
        return [
            line + f"; the same recording as source '{first}' (same answerer, client and "
            "repositories): asked once, no further cost"
        ]
    return [line, *_teacher_cost_lines(name, config, ctx)]


def _recording_key(config: dict[str, Any]) -> str:
    keep = {k: config.get(k) for k in ("answerer", "client", "repos", "codewikibench", "pool")}
    return _fingerprint(keep)


def _same_recording(name: str, config: dict[str, Any], ctx: SourceContext) -> str:
    """The first semanticwiki source of the recipe whose recording this one shares."""
    sources = ((getattr(ctx.recipe, "data", None) or {}).get("data") or {}).get("sources") or {}
    key = _recording_key(sources.get(name) or config)  # as written: a pool not yet expanded
    for other, cfg in sources.items():
        if (
            isinstance(cfg, dict)
            and cfg.get("kind") == "semanticwiki"
            and _recording_key(cfg) == key
        ):
            return other
    return name


def _dry_shapes(name: str, config: dict[str, Any], ctx: SourceContext) -> tuple[list, bool]:
    """Each repository a dry run can name (listed ones, CodeWikiBench rows by their checkout in
    `codewikibench.repos`; the dataset itself is not read), with its plan-prompt file count
    when it is on this machine already; and whether dataset rows may add more."""
    from wikikit.code.repo import is_cloned
    from wikikit.semanticwiki.estimate import RepoShape

    holdout = holdout_of(ctx)
    targets: list[Target] = []
    for i, spec in enumerate(config.get("repos") or []):
        label = _spec_name(spec)
        if not _held(holdout, spec, label):
            targets.append(Target(label, spec, i))
    bench = config.get("codewikibench") or {}
    for repo_name, spec in (bench.get("repos") or {}).items():
        if isinstance(spec, str):
            spec = {"url": spec} if is_git_url(spec) else {"path": spec}
        if not _held(holdout, spec, repo_name):
            targets.append(
                Target(repo_name, {**spec, "name": repo_name}, f"codewikibench.repos.{repo_name}")
            )
    shapes = []
    for t in targets:
        spec = (
            t.spec
            if isinstance(t.spec, dict)
            else ({"url": t.spec} if is_git_url(str(t.spec)) else {"path": t.spec})
        )
        url, commit = spec.get("url"), spec.get("commit")
        local = not url or (str(url).startswith("file://"))
        if local or is_cloned(str(url), str(commit) if commit else None, Path(ctx.cache_dir)):
            files = protocol.plan_files(open_target(t, ctx, config).root)
            shapes.append(RepoShape(t.name, len(files), protocol.source_file_count(files)))
        else:
            shapes.append(RepoShape(t.name))
    return shapes, bool(bench) and not bench.get("repos")


def _teacher_cost_lines(name: str, config: dict[str, Any], ctx: SourceContext) -> list[str]:
    from wikikit.semanticwiki import estimate
    from wikikit.teachers import settings_from_config
    from wikikit.teachers.estimate import chosen_scenario, cost_lines
    from wikikit.teachers.pricing import PRICES_CHECKED

    key = ".".join(map(str, (*ctx.key_path, "answerer", "teacher")))
    teacher = (config.get("answerer") or {}).get("teacher") or {}
    settings = settings_from_config(teacher, key)
    shapes, rows_unknown = _dry_shapes(name, config, ctx)
    if not shapes:
        return ["  no repository to estimate: the CodeWikiBench rows are read when the run starts"]
    e = estimate.estimate(settings, shapes, teacher.get("prompt_cache_ttl"))
    ctx.artifacts[f"estimate/{name}"] = e  # the dry run's totals (wikikit.data.plan_totals)
    lines = [
        f"  {settings.provider}/{settings.model} answers every call: ~{e['calls_per_repo']:.0f} "
        f"calls per repository (plan, ~{e['pages'] / e['repos']:.0f} pages by SemanticWiki's page "
        f"rule, index) on {e['repos']} repositories = ~{e['requests']:,} calls; a page prompt "
        f"~{e['page_prompt_tokens']:,} tokens (its 12,000-character code budget and template, "
        f"measured on captured prompts, o200k); answers assumed at "
        f"{estimate.EXPECTED_OUTPUT_SHARE:.0%} of min(max_tokens {settings.max_tokens:,}, the "
        f"client's num_predict); prices of {PRICES_CHECKED}",
        *cost_lines(e, unit="call", groups="call kind"),
    ]
    if e["cache_read_tokens"] == 0 and e["prompt_cache"]:
        lines.append(
            "  no prompt prefix is cacheable: SemanticWiki's system prompts are 16-78 tokens, "
            "below the model's cache minimum, and every user prompt differs"
        )
    if e["uncloned"]:
        low = estimate.estimate(settings, shapes, teacher.get("prompt_cache_ttl"), uncloned_least=5)
        chosen = chosen_scenario(e["batch"], e["prompt_cache"])
        n = len(e["uncloned"])
        lines.append(
            f"  an estimate: {n} of {e['repos']} repositories are not cloned yet, so their page "
            f"count is SemanticWiki's cap (25 required pages, what 193+ source files get); at "
            f"its floor (5) the total would be ${low['expected_usd'][chosen]:,.2f} "
            f"({low['requests']:,} calls)"
        )
    if rows_unknown:
        lines.append(
            "  the CodeWikiBench rows without a checkout in codewikibench.repos are not counted "
            "(the dataset is not read in a dry run)"
        )
    return lines
