"""`kind: deepwiki`: crawl DeepWiki pages with scrapy, parse them, cut them into examples.

The crawl runs as a child process (see wikikit.deepwiki.spider for why); its HTTP cache, JOBDIR
and fetched pages live under the data stage's cache, so a re-run downloads nothing it already
has and an interrupted crawl resumes. Each chunk of a page becomes one example: the user asks
for that section of the page, naming the page's relevant source files and the section's
outline; the assistant answers with the section itself, its refs and diagrams included.
"""

from __future__ import annotations

import hashlib
import random
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wikikit import console
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
from wikikit.deepwiki.html import html_to_markdown
from wikikit.deepwiki.page import Page, parse_page
from wikikit.deepwiki.spider import build_command, read_items
from wikikit.errors import WikikitError
from wikikit.example import Example, Message, example_id

DEFAULT_BASE_URL = "https://deepwiki.com"
MAX_LISTED_FILES = 30


def generate(name: str, config: dict[str, Any], ctx: SourceContext) -> Iterator[Example]:
    where = ".".join(map(str, ctx.key_path)) or f"data.sources.{name}"
    chunking = config.get("chunking") or {}
    check_chunking(chunking, f"{where}.chunking")
    repos = list(config["repos"])
    base_url = str(config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    crawl_dir = crawl_dir_for(ctx.cache_dir, name, base_url)
    stats = ctx.stats[name]
    if ctx.dry_run:
        console.info(f"{name}: would crawl {', '.join(repos)} from {base_url}")
        return
    if config.get("crawl", True):
        run_crawl(config, repos, base_url, crawl_dir, ctx.cache_dir)
    pages = load_pages(crawl_dir, repos, stats)
    limit = config.get("max_examples")
    for n, example in enumerate(examples_from_pages(pages, chunking, ctx.seed), start=1):
        stats["examples"] += 1
        yield example
        if limit and n >= limit:
            return


def crawl_dir_for(cache_dir: Path, name: str, base_url: str) -> Path:
    site = hashlib.sha256(base_url.encode()).hexdigest()[:8]
    return Path(cache_dir) / "deepwiki" / f"{name}-{site}"


def run_crawl(
    config: dict[str, Any], repos: list[str], base_url: str, crawl_dir: Path, cache_dir: Path
) -> None:
    crawl_dir.mkdir(parents=True, exist_ok=True)
    cmd = build_command(
        crawl_dir,
        base_url=base_url,
        repos=repos,
        httpcache_dir=Path(cache_dir) / "deepwiki" / "httpcache",
        jobdir=crawl_dir / "job",
        max_pages=config.get("max_pages"),
        max_pages_per_repo=config.get("max_pages_per_repo"),
        obey_robots=config.get("obey_robots", True),
        autothrottle=config.get("autothrottle", True),
        concurrency_per_domain=int(config.get("concurrency_per_domain", 4)),
        download_delay=float(config.get("download_delay", 0.5)),
        timeout_s=float(config.get("timeout_s", 30)),
        retries=int(config.get("retries", 3)),
    )
    console.info(f"deepwiki: crawling {', '.join(repos)} from {base_url}")
    log_path = crawl_dir / "crawl.log"
    with log_path.open("ab") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        raise WikikitError(
            f"deepwiki crawl failed (exit {proc.returncode}): {' '.join(tail)} (log: {log_path})"
        )


def load_pages(crawl_dir: Path, repos: list[str], stats) -> list[tuple[str, Page]]:
    """Parsed pages of the listed repos, in wiki order; duplicates (the repo root) dropped."""
    wanted = {r.lower(): r for r in repos}
    seen_bodies: set[str] = set()
    out: list[tuple[str, Page]] = []
    for url, item in sorted(read_items(crawl_dir).items()):
        repo = wanted.get(str(item.get("repo", "")).lower())
        if repo is None:
            continue
        if int(item.get("status", 0)) != 200 or not item.get("body"):
            stats["pages_not_ok"] += 1
            continue
        body = item["body"]
        markdown = html_to_markdown(body) if "html" in item.get("content_type", "") else body
        digest = hashlib.sha256(markdown.encode()).hexdigest()
        if digest in seen_bodies:
            stats["pages_duplicate"] += 1
            continue
        seen_bodies.add(digest)
        page = parse_page(markdown, url=url)
        if not page.sections:
            stats["pages_without_sections"] += 1
            continue
        stats["pages_parsed"] += 1
        out.append((repo, page))
    out.sort(key=lambda rp: (rp[0], page_order(rp[1]), rp[1].url or ""))
    return out


def page_order(page: Page) -> tuple[int, ...]:
    """`3.1-Agent Controller` sorts after `3-Agent System` and before `4-...`; unnumbered last."""
    m = re.match(r"^(\d+(?:\.\d+)*)-", page.slug or "")
    if not m:
        m = re.search(r"/(\d+(?:\.\d+)*)-[^/]*$", page.url or "")
    return tuple(int(x) for x in m.group(1).split(".")) if m else (10**9,)


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
    return Example(
        id=example_id("deepwiki", repo, [p.url for p in pages], strategy, index, text),
        messages=[
            Message("user", section_request(repo, title, heading, "\n\n".join(context))),
            Message("assistant", text),
        ],
        source="deepwiki",
        category=categorize(heading, page.title) or "architecture",
        language=language,
        repo=repo,
        refs=refs,
        meta={
            "urls": [p.url for p in pages],
            "page_title": title,
            "heading": heading,
            "strategy": strategy,
            "chunk": index,
            "diagrams": len(chunk.diagrams),
            "tokens": chunk.tokens,
        },
    )
