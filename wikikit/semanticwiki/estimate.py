"""What a teacher answering SemanticWiki's local mode will cost, before the client has asked.

The client's calls per repository follow its own rules (wikikit.semanticwiki.protocol): one
plan, one page per planned page, one index. The plan prompt requires max(5, min(25,
ceil(source files / 8))) to that plus 10 pages, so a teacher that follows it plans within that
range (counted at its middle); the client adds `Getting Started` when the plan has none (and an
overview), and asks for up to 25 more pages when links point nowhere (counted only in the worst
case). A repository not cloned yet is counted at the rule's cap (25 required pages: what any
repository of 193 or more source files gets; the CodeWikiBench repositories are that big), and
the dry run says so and gives the figure at the rule's floor (5).

Prompt sizes, measured on the prompts of a real run (../shared/fixtures/semanticwiki-prompts,
with-rag, demo/shop) with the o200k tokenizer:
- page: 360 tokens of template (with 3 related-page links) around the code context; the
  context is retrieval chunks until it passes 12,000 characters (dist/wiki-agent.js
  generateSinglePage), at 0.247 tokens per character of code (4 captured page contexts, 26,134
  characters, 6,464 tokens); at most one more 1,500-character chunk over the budget;
- plan: 466 tokens of template and 8.4 tokens per listed file; index: 91 tokens and 12.5 per
  listed page; system prompts: plan 17, page 78, index 16 tokens.
Answers: the teacher's max_tokens is what each request allows (the worst case); the expected
answer is half of the smaller of that and the client's own num_predict (plan 8,192, page 4,096,
index 2,048), as the synthetic source's estimate assumes half of max_tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wikikit.semanticwiki.protocol import CALL_OPTIONS, required_pages
from wikikit.teachers.estimate import CostEstimate

CONTEXT_CHARS = 12_000
CHUNK_CHARS = 1_500
CODE_TOKENS_PER_CHAR = 0.247
PAGE_TEMPLATE_TOKENS = 360
PLAN_TEMPLATE_TOKENS = 466
PLAN_FILE_TOKENS = 8.4
INDEX_TEMPLATE_TOKENS = 91
INDEX_PAGE_TOKENS = 12.5
SYSTEM_TOKENS = {"plan": 17, "page": 78, "index": 16}
PER_MESSAGE = 4  # role and framing per message, as the synthetic estimate counts
ADDED_PAGES = 1  # Getting Started, when the plan has none
COMPLETENESS_PAGES = 25  # 5 rounds of at most 5 missing pages (verifyWikiCompleteness)
UNCLONED_LEAST_PAGES = 25  # the rule's cap
EXPECTED_OUTPUT_SHARE = 0.5


@dataclass(frozen=True)
class RepoShape:
    """What the estimate knows of one repository: its plan-prompt file count, when cloned."""

    name: str
    files: int | None = None  # files the plan prompt lists (None: not cloned)
    source_files: int | None = None

    def least_pages(self, uncloned: int = UNCLONED_LEAST_PAGES) -> int:
        return required_pages(self.source_files)[0] if self.source_files is not None else uncloned


def page_tokens(context_chars: int = CONTEXT_CHARS) -> int:
    return (
        SYSTEM_TOKENS["page"]
        + PAGE_TEMPLATE_TOKENS
        + round(context_chars * CODE_TOKENS_PER_CHAR)
        + 2 * PER_MESSAGE
    )


def estimate(
    settings: Any,
    repos: Sequence[RepoShape],
    prompt_cache_ttl: str | None = None,
    uncloned_least: int = UNCLONED_LEAST_PAGES,
) -> dict[str, Any]:
    """Every call the client will make on `repos`, priced four ways (wikikit.teachers.estimate)."""
    est = CostEstimate(settings, prompt_cache_ttl)

    def expected(kind: str) -> int:
        limit = min(settings.max_tokens, CALL_OPTIONS[kind]["num_predict"])
        return int(limit * EXPECTED_OUTPUT_SHARE)

    calls = 0
    pages_total = 0
    for repo in repos:
        least = repo.least_pages(uncloned_least)
        pages = least + 5 + ADDED_PAGES  # the middle of the required range, plus Getting Started
        most = least + 10 + ADDED_PAGES + COMPLETENESS_PAGES
        files = repo.files if repo.files is not None else 8 * least  # the rule's boundary
        system = [(("system", kind), SYSTEM_TOKENS[kind] + PER_MESSAGE) for kind in SYSTEM_TOKENS]
        plan_in = SYSTEM_TOKENS["plan"] + PLAN_TEMPLATE_TOKENS + round(files * PLAN_FILE_TOKENS)
        est.add_request("plan", plan_in + 2 * PER_MESSAGE, expected("plan"), marks=system[:1])
        est.add_request(
            "page", page_tokens(), expected("page"), marks=system[1:2], times=pages,
            worst_input=page_tokens(CONTEXT_CHARS + CHUNK_CHARS),
        )  # fmt: skip
        est.add_worst(page_tokens(CONTEXT_CHARS + CHUNK_CHARS), settings.max_tokens, most - pages)
        index_in = SYSTEM_TOKENS["index"] + INDEX_TEMPLATE_TOKENS + round(pages * INDEX_PAGE_TOKENS)
        est.add_request("index", index_in + 2 * PER_MESSAGE, expected("index"), marks=system[2:])
        est.add_items("plan")
        est.add_items("page", pages)
        est.add_items("index")
        calls += pages + 2
        pages_total += pages
    out = est.result(calls)
    out["repos"] = len(repos)
    out["uncloned"] = [r.name for r in repos if r.files is None]
    out["pages"] = pages_total
    out["calls_per_repo"] = calls / len(repos) if repos else 0.0
    out["page_prompt_tokens"] = page_tokens()
    return out
