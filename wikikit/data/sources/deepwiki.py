"""`kind: deepwiki`: DeepWiki wikis (site or MCP server), pinned to their commit, cut into examples.

The repositories come from `repos:` and `repos_file:` (one OWNER/REPO a line); held-out ones
(`data.holdout`) are never fetched. wikikit.deepwiki.fetch fetches the rest into the data
stage's cache, resumably (one request per repo from the site's flight payload, or two MCP tool
calls); `checkout: true` clones each repository at the wiki's commit so the reference filter
checks every `file:line` against the code the wiki was written for. Each chunk of a page becomes
one example: the user asks for that section of the page, naming the page's relevant source files
and the section's outline; the assistant answers with the section, its refs and diagrams
included. The crawl's outcome per repository (fetched, no wiki, failed with its reason) goes to
`deepwiki/<source>.json` beside the data and its counts to quality.json.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.code.repo import is_git_url, split_lines
from wikikit.data.sources import SourceContext
from wikikit.data.sources.wiki_sections import (
    categorize,
    language_of_paths,
    language_of_refs,
    outline_lines,
    section_request,
)
from wikikit.deepwiki.chunking import (
    DEFAULT_DISTRIBUTION,
    Chunk,
    check_chunking,
    chunk_by_tokens,
    chunk_page,
)
from wikikit.deepwiki.fetch import CrawlResult, crawl_wikis
from wikikit.deepwiki.page import Page
from wikikit.deepwiki.pin import DEFAULT_GIT_URL, checkout, git_url
from wikikit.deepwiki.settings import MCP_URL, SITE_URL, FetchSettings
from wikikit.deepwiki.store import FETCHED, CrawlStore, repo_key
from wikikit.deepwiki.wiki import Wiki
from wikikit.errors import InputError, WikikitError
from wikikit.example import Example, Message, example_id

DEFAULT_BASE_URL = SITE_URL
MAX_LISTED_FILES = 30
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
MAX_REPOS_FILE_BYTES = 4 * 2**20
MAX_REPOS = 100_000


def generate(name: str, config: dict[str, Any], ctx: SourceContext) -> Iterator[Example]:
    where = ".".join(map(str, ctx.key_path)) or f"data.sources.{name}"
    chunking = config.get("chunking") or {}
    check_chunking(chunking, f"{where}.chunking")
    stats = ctx.stats[name]
    repos, held = wanted_repos(config, ctx, where)
    stats["holdout_repos"] += len(held)
    settings = fetch_settings(config)
    if ctx.dry_run:
        for line in plan_lines(name, config, ctx):
            console.info(f"{name}: {line}")
        return
    work_dir = crawl_dir_for(ctx.cache_dir, name, settings)
    if config.get("crawl", True):
        result = crawl_wikis(repos, settings, work_dir)
    else:  # only what an earlier run stored
        store = CrawlStore(work_dir)
        result = CrawlResult(repos=repos, store=store, statuses=store.statuses())
    report_crawl(name, result, held, ctx)
    if result.stopped:
        raise WikikitError(f"{where}: the crawl stopped early ({result.stopped})")
    template = str(config.get("git_url") or DEFAULT_GIT_URL)
    limit = config.get("max_examples")
    budget = {"pages": config.get("max_pages")}  # pages left over all repos (None: no limit)
    produced = 0
    try:
        for wiki in result.wikis():  # one at a time: hundreds of wikis never all in memory
            if config.get("checkout"):
                pin_wiki(wiki, result, ctx, template, stats)
            count_wiki(wiki, stats)
            pages = pages_of(wiki, config, budget, stats)
            for example in examples_from_pages(pages, chunking, ctx.seed):
                stats["examples"] += 1
                produced += 1
                yield example
                if limit and produced >= limit:
                    return
    finally:
        # Again with the checkouts made meanwhile (also when the stage stops reading early).
        ctx.artifacts[f"deepwiki/{name}.json"] = crawl_artifact(result, held)


def fetch_settings(config: dict[str, Any]) -> FetchSettings:
    return FetchSettings(
        transport=str(config.get("transport", "site")),
        base_url=str(config.get("base_url") or DEFAULT_BASE_URL).rstrip("/"),
        mcp_url=str(config.get("mcp_url") or MCP_URL),
        rsc=bool(config.get("rsc", False)),
        obey_robots=bool(config.get("obey_robots", True)),
        autothrottle=bool(config.get("autothrottle", True)),
        concurrency=int(config.get("concurrency_per_domain", 4)),
        download_delay=float(config.get("download_delay", 0.5)),
        timeout_s=float(config.get("timeout_s", 30)),
        retries=int(config.get("retries", 3)),
        retry_after_max_s=float(config.get("retry_after_max_s", 300)),
        max_payload_mb=int(config.get("max_payload_mb", 64)),
        max_pages=config.get("max_pages"),
        max_pages_per_repo=config.get("max_pages_per_repo"),
    )


def wanted_repos(
    config: dict[str, Any], ctx: SourceContext, where: str
) -> tuple[list[str], list[str]]:
    """(repos to fetch, held-out repos) from `repos` and `repos_file`, deduplicated in order."""
    names = [str(r) for r in config.get("repos") or []]
    if config.get("repos_file"):
        names += read_repos_file(config["repos_file"], ctx, f"{where}.repos_file")
    if not names:
        raise InputError(f"{where}: give `repos` or `repos_file` (OWNER/REPO names)")
    unique: dict[str, str] = {}
    for n in names:
        unique.setdefault(repo_key(n), n)
    holdout = ctx.holdout
    keep = [r for r in unique.values() if not holdout.matches(r)]
    held = [r for r in unique.values() if holdout.matches(r)]
    return keep, held


def read_repos_file(value: str, ctx: SourceContext, where: str) -> list[str]:
    """OWNER/REPO per line; blank lines and `#` comments skipped; every bad line reported."""
    recipe = getattr(ctx, "recipe", None)
    path = (
        recipe.resolve_path(value, (*ctx.key_path, "repos_file"))
        if recipe is not None
        else Path(value)
    )
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{where}: not found: {value}")
    if path.stat().st_size > MAX_REPOS_FILE_BYTES:
        raise InputError(f"{where}: {value} is over {MAX_REPOS_FILE_BYTES // 2**20} MiB")
    out, problems = [], []
    text = path.read_text(encoding="utf-8", errors="replace")
    for n, line in enumerate(split_lines(text), start=1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not REPO_NAME.match(name):
            problems.append(f"{path}:{n}: not an OWNER/REPO name: {name[:80]!r}")
            continue
        out.append(name)
    if problems:
        raise InputError(problems[0], problems[:20])
    if len(out) > MAX_REPOS:
        raise InputError(f"{where}: {len(out)} repositories, more than {MAX_REPOS}")
    return out


def crawl_dir_for(cache_dir: Path, name: str, settings: FetchSettings) -> Path:
    site = settings.base_url if settings.transport == "site" else settings.mcp_url
    key = hashlib.sha256(f"{settings.transport}\n{site}".encode()).hexdigest()[:8]
    return Path(cache_dir) / "deepwiki" / f"{name}-{key}"


def pin_wiki(wiki: Wiki, result: CrawlResult, ctx: SourceContext, template: str, stats) -> None:
    """Clone the wiki's repository at its commit (once); the wiki's commit becomes the clone's HEAD."""
    entry = result.status_of(wiki.repo) or {}
    pinned = entry.get("checkout") or {}
    if pinned.get("root") and Path(pinned["root"]).is_dir() and pinned.get("commit") == wiki.commit:
        wiki.commit = pinned.get("head") or wiki.commit
        stats["repos_checked_out"] += 1
        return
    if not wiki.commit:
        stats["repos_without_commit"] += 1
        return
    url = git_url(template, wiki.repo)
    recipe = getattr(ctx, "recipe", None)
    if recipe is not None and not is_git_url(url):  # a local clone source: inside the roots
        url = str(recipe.resolve_path(url, (*ctx.key_path, "git_url")))
    try:
        repo = checkout(wiki, ctx.cache_dir, url)
    except WikikitError as exc:
        stats["repos_checkout_failed"] += 1
        console.warn(f"deepwiki: {wiki.repo} at {wiki.commit}: {str(exc).splitlines()[0]}")
        return
    stats["repos_checked_out"] += 1
    record = {"root": str(repo.root), "head": repo.commit, "commit": wiki.commit}
    fields = {k: v for k, v in entry.items() if k not in ("repo", "status", "at", "checkout")}
    status = entry.get("status", FETCHED)
    entry.update(result.store.record(wiki.repo, status, **fields, checkout=record))
    wiki.commit = repo.commit or wiki.commit


def pinned_repo(name: str, config: dict[str, Any], cache_dir: Path, repo_id: str) -> Any | None:
    """The checkout this source made for `owner/name@commit` (for the reference filter), or None."""
    from wikikit.code.repo import Repo

    if not config.get("checkout") or "@" not in repo_id:
        return None
    repo, _, commit = repo_id.partition("@")
    store = CrawlStore(crawl_dir_for(cache_dir, name, fetch_settings(config)))
    pinned = (store.statuses().get(repo_key(repo)) or {}).get("checkout") or {}
    root = pinned.get("root")
    if not root or pinned.get("head") != commit or not Path(root).is_dir():
        return None
    return Repo(
        Path(root), repo, commit, max_file_bytes=int(config.get("max_file_bytes", 1_000_000))
    )


def count_wiki(wiki: Wiki, stats) -> None:
    stats[f"wikis_from_{wiki.transport}"] += 1
    stats["missing_diagrams"] += wiki.missing_diagrams
    for reason, n in wiki.dropped.items():  # what bounded parsing left out, by reason
        stats[reason] += int(n)


def report_crawl(name: str, result: CrawlResult, held: list[str], ctx: SourceContext) -> None:
    """Counts in quality.json (source_stats) and each repo's outcome in deepwiki/<name>.json."""
    stats = ctx.stats[name]
    summary = result.summary()
    for status, n in summary["by_status"].items():
        stats[f"repos_{status}"] += n
    stats["requests"] += summary["requests"]
    ctx.artifacts[f"deepwiki/{name}.json"] = artifact = crawl_artifact(result, held)
    console.info(
        f"deepwiki: {name}: "
        + ", ".join(f"{n} {s}" for s, n in summary["by_status"].items())
        + (f", {len(held)} held out" if held else "")
        + f"; {summary['requests']} requests"
    )
    for row in [r for r in artifact["repos"] if r["status"] == "failed"][:5]:
        console.warn(f"deepwiki: {row['repo']} failed: {row.get('reason', '')}")


def crawl_artifact(result: CrawlResult, held: list[str]) -> dict[str, Any]:
    rows = []
    for repo in result.repos:
        entry = result.status_of(repo) or {"status": "pending"}
        rows.append(
            {
                "repo": repo,
                **{
                    k: entry[k]
                    for k in ("status", "reason", "transport", "pages", "requests", "commit")
                    if entry.get(k) is not None
                },
                **({"checkout": entry["checkout"]["head"]} if entry.get("checkout") else {}),
            }
        )
    rows += [{"repo": r, "status": "held_out"} for r in held]
    return {"summary": {**result.summary(), "held_out": len(held)}, "repos": rows}


def pages_of(wiki: Wiki, config: dict[str, Any], budget: dict, stats) -> list[tuple[str, Page]]:
    """(Example.repo, page) in wiki order, within max_pages_per_repo and what max_pages leaves."""
    per_repo = config.get("max_pages_per_repo")
    repo_id = f"{wiki.repo}@{wiki.commit}" if wiki.commit else wiki.repo
    pages = wiki.pages
    if per_repo and len(pages) > per_repo:
        stats["pages_over_limit"] += len(pages) - per_repo
        pages = pages[:per_repo]
    if budget["pages"] is not None:
        kept = pages[: max(0, budget["pages"])]
        stats["pages_over_limit"] += len(pages) - len(kept)
        budget["pages"] -= len(kept)
        pages = kept
    stats["pages_parsed"] += len(pages)
    return [(repo_id, p) for p in pages]


def plan_lines(name: str, config: dict[str, Any], ctx: SourceContext) -> list[str]:
    where = ".".join(map(str, ctx.key_path)) or f"data.sources.{name}"
    repos, held = wanted_repos(config, ctx, where)
    s = fetch_settings(config)
    if s.transport == "mcp":
        how = f"over MCP from {s.mcp_url} (2 tool calls each)"
    else:
        how = f"from {s.base_url} (one request each: the flight payload holds every page)"
    lines = [
        f"would fetch {len(repos)} wikis {how}"
        + (", each checked out at its commit" if config.get("checkout") else "")
    ]
    if held:
        lines.append(f"held out (data.holdout), not fetched: {', '.join(held)}")
    return lines


def examples_from_pages(
    pages: list[tuple[str, Page]], chunking: dict[str, Any], seed: int
) -> Iterator[Example]:
    strategy = chunking.get("strategy", "heading")
    if strategy != "tokens":
        level = int(chunking.get("level", 2))
        for repo, page in pages:
            for i, chunk in enumerate(chunk_page(page, strategy, level)):
                yield chunk_example(repo, [page], chunk, i, strategy)
        return
    by_repo: dict[str, list[Page]] = {}
    for repo, page in pages:
        by_repo.setdefault(repo, []).append(page)
    for repo, repo_pages in by_repo.items():
        blocks = []
        owner: list[int] = []  # index of the page each block came from
        for n, page in enumerate(repo_pages):
            page_blocks = page.blocks  # built on each access: take them once
            blocks.extend(page_blocks)
            owner.extend([n] * len(page_blocks))
        rng = random.Random(f"{seed}:{repo}")
        chunks = chunk_by_tokens(
            blocks,
            distribution=chunking.get("size_distribution") or DEFAULT_DISTRIBUTION,
            max_tokens=int(chunking.get("max_tokens", 16000)),
            overlap_tokens=int(chunking.get("overlap_tokens", 200)),
            rng=rng,
        )
        origin = {id(b): n for b, n in zip(blocks, owner, strict=True)}
        for i, chunk in enumerate(chunks):
            covered = [
                repo_pages[n]
                for n in sorted({origin[id(b)] for b in chunk.blocks if id(b) in origin})
            ]
            yield chunk_example(repo, covered or repo_pages[:1], chunk, i, strategy)


def chunk_example(repo: str, pages: list[Page], chunk: Chunk, index: int, strategy: str) -> Example:
    page = pages[0]
    headings = chunk.headings
    heading = headings[0][1] if headings else page.title
    title = " / ".join(p.title for p in pages)
    files = list(dict.fromkeys(f for p in pages for f in p.source_files))
    context = []
    if files:
        listed = files[:MAX_LISTED_FILES]
        more = f"\n- ... and {len(files) - len(listed)} more" if len(files) > len(listed) else ""
        context.append("Relevant source files:\n" + "\n".join(f"- {f}" for f in listed) + more)
    if len(headings) > 1:
        context.append("Outline:\n" + outline_lines(headings))
    refs = chunk.refs
    language = language_of_refs(refs)
    if language == "unknown":
        language = language_of_paths(files)
    text = chunk.text
    name = repo.split("@", 1)[0]
    return Example(
        id=example_id("deepwiki", repo, [p.url for p in pages], strategy, index, text),
        messages=[
            Message("user", section_request(name, title, heading, "\n\n".join(context))),
            Message("assistant", text),
        ],
        source="deepwiki",
        category=categorize(heading, page.title) or "architecture",
        language=language,
        repo=repo,
        refs=refs,
        meta={
            "urls": [p.url for p in pages],
            "page_ids": [p.id for p in pages if p.id],
            "page_title": title,
            "heading": heading,
            "strategy": strategy,
            "chunk": index,
            "diagrams": len(chunk.diagrams),
            "tokens": chunk.tokens,
        },
    )
