"""Scores of what the model wrote (its answers in exchanges.jsonl), before SemanticWiki repairs it.

The files on disk are the client's output, not the model's: SemanticWiki 1.2.1
(dist/wiki-agent.js, installed pack) drops a page whose answer is 200 characters or fewer after
one retry (generateSinglePage :2203-2229), rewrites `See:`/`Source:`/backticked references into
the 📄 form (makeSourceReferencesClickable :2056-2070, called at :2213), replaces a plan it cannot
use with its own pattern plan (analyzeProjectWithLLM :1040-1199; wikikit.semanticwiki.
plan_check), and turns broken `.md` links into new page calls (the completeness loop
:940-1015). So these shares are counted from the answers themselves, beside the file scores:

- raw_plan_accepted: the client keeps the model's plan (plan_check);
- raw_pages_planned: pages of the model's plan the client wrote from its answers (none when the
  client discarded the plan: it never asked for them);
- raw_pages_requested: page requests whose last answer the client wrote (over 200 characters,
  no error);
- raw_truncated: answers cut at the token limit (stop_reason `maxTokens` from node-llama-cpp,
  `length` from OpenAI-style servers, `max_tokens` from Anthropic; else completion tokens at
  the call's max_tokens), over answers whose end is known; lower is better;
- raw_refs_resolved, raw_refs_precise, raw_ref_coverage: refs.py on the last answer of every
  page request, before the rewriting (any reference form);
- raw_refs_form: references written in the asked form `📄 [path:line](../path#Lline)`;
- raw_refs_right (the wiki's headline): references in the asked form that resolve and are
  precise, over all references: a `See: a.py:3` the client rewrote earns nothing here;
- raw_mermaid_valid: Mermaid blocks of those answers;
- raw_links: wiki links in the written answers that resolve to a page of the client's first
  pass, i.e. before its completeness loop wrote the missing ones. The first pass and the loop's
  pages are read from the client's log (`[Local] ✓ Generated: <file>` :925 and
  `[Local] ✓ Generated missing page: <file>` :995); without a log, every page on disk counts.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wikikit.code.refs import parse_refs
from wikikit.eval.metrics import Ratio
from wikikit.eval.metrics.traceability import blank_code
from wikikit.eval.wiki.cost import MIN_PAGE_CHARS
from wikikit.eval.wiki.exchanges import Exchange
from wikikit.eval.wiki.links import wiki_links
from wikikit.eval.wiki.pages import INDEX_PAGE
from wikikit.eval.wiki.plan import PlanScore
from wikikit.eval.wiki.refs import RepoFacts, check_page_refs

RAW_RATIOS = (
    "raw_plan_accepted",
    "raw_pages_planned",
    "raw_pages_requested",
    "raw_truncated",
    "raw_refs_resolved",
    "raw_refs_precise",
    "raw_refs_right",
    "raw_ref_coverage",
    "raw_refs_form",
    "raw_mermaid_valid",
    "raw_links",
)
# what each stop_reason writer says for "cut at the token limit" (wikikit.semanticwiki.client)
CUT = frozenset({"maxTokens", "length", "max_tokens"})
_WRITTEN = re.compile(r"^\[Local\] ✓ Generated: (?P<file>.+?)\s*$", re.M)
_VERIFYING = "[Local] Verification #"
_LOOP = re.compile(r"^\[Local\] ✓ Generated missing page: (?P<file>.+?)\s*$", re.M)
ANSWER_NAME = "answer.md"  # where a raw answer's relative links are resolved: the wiki's top


@dataclass
class ClientLog:
    """Which files the client wrote in its first pass, and which its completeness loop added."""

    first_pass: list[str] = field(default_factory=list)
    loop: list[str] = field(default_factory=list)


def read_client_log(path: str | Path) -> ClientLog | None:
    """The client's log lines naming the files it wrote; None when there is no log. The first
    pass ends where the completeness loop starts (`[Local] Verification #1` :948); the index is
    written after the loop (`[Local] ✓ Generated: index.md` :1021), so it is never first-pass."""
    path = Path(path)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    head = text.split(_VERIFYING, 1)[0]
    first = [m["file"] for m in _WRITTEN.finditer(head)]
    if head == text and first and first[-1] == INDEX_PAGE:
        first.pop()  # no loop line (a log cut short): the index is still the last one written
    return ClientLog(first, [m["file"] for m in _LOOP.finditer(text)])


def written(x: Exchange) -> bool:
    """The client writes this answer as a page (generateSinglePage :2211)."""
    return x.error is None and len(x.answer) > MIN_PAGE_CHARS


def truncated(x: Exchange) -> bool | None:
    """Cut at the token limit; None when the exchange does not say how it ended."""
    if x.stop_reason is not None:
        return x.stop_reason in CUT
    limit = x.options.get("max_tokens")
    if x.completion_tokens is not None and isinstance(limit, int) and limit > 0:
        return x.completion_tokens >= limit
    return None


def last_page_answers(exchanges: Sequence[Exchange]) -> dict[str, Exchange]:
    """{title: the last call for it} (a retry replaces the first answer), in request order."""
    out: dict[str, Exchange] = {}
    for x in exchanges:
        if x.kind == "page":
            out[x.title or f"(untitled call at line {x.line})"] = x
    return out


@dataclass
class RawScore:
    ratios: dict[str, Ratio]
    mermaid_blocks: list = field(default_factory=list)  # (title, Block) to validate
    problems: list[str] = field(default_factory=list)


def score_raw(
    exchanges: Sequence[Exchange],
    plan: PlanScore | None,
    facts: RepoFacts,
    pages_on_disk: Collection[str],
    log: ClientLog | None = None,
) -> RawScore:
    """Every raw share but Mermaid's, whose blocks come back for one validator call with the
    files' (score_wiki fills raw_mermaid_valid)."""
    from wikikit.mermaid import extract_mermaid_blocks

    last = last_page_answers(exchanges)
    problems: list[str] = []
    ratios: dict[str, Ratio] = {}
    if plan is not None:
        ratios["raw_plan_accepted"] = (int(plan.accepted), 1)
        planned = [p.title for p in plan.pages]
        done = sum(t in last and written(last[t]) for t in planned) if plan.accepted else 0
        ratios["raw_pages_planned"] = (done, len(planned))
        if not plan.accepted and plan.check is not None:
            problems.append(f"raw: the client wrote its own plan: {plan.check.reason}")
    else:
        ratios["raw_plan_accepted"] = ratios["raw_pages_planned"] = (0, 0)
    ratios["raw_pages_requested"] = (sum(written(x) for x in last.values()), len(last))
    problems += [
        f"raw: page {t!r} dropped (answer of {len(x.answer)} characters)"
        for t, x in last.items()
        if not written(x)
    ]
    ends = [(x, truncated(x)) for x in exchanges if x.error is None]
    known = [(x, cut) for x, cut in ends if cut is not None]
    ratios["raw_truncated"] = (sum(cut for _, cut in known), len(known))
    problems += [
        f"raw: {x.kind} answer at line {x.line} cut at the token limit" for x, cut in known if cut
    ]
    resolved = precise = right = n_refs = local = with_ref = components = 0
    blocks = []
    for title, x in last.items():
        checked = check_page_refs(ANSWER_NAME, x.answer, facts)
        # the same parse check_page_refs makes, in its order: each check's form
        forms = [r.form for r in parse_refs(blank_code(x.answer), include_unranged=True)]
        resolved += checked.resolved[0]
        precise += checked.precise[0]
        right += sum(c.precise and f == "local" for c, f in zip(checked.refs, forms, strict=True))
        n_refs += len(checked.refs)
        with_ref += checked.components[0]
        components += checked.components[1]
        local += forms.count("local")
        blocks += [(title, b) for b in extract_mermaid_blocks(x.answer)]
    ratios.update(
        raw_refs_resolved=(resolved, n_refs),
        raw_refs_precise=(precise, resolved),
        raw_refs_right=(right, n_refs),
        raw_ref_coverage=(with_ref, components),
        raw_refs_form=(local, n_refs),
    )
    # with the client's log: its first pass only (an empty one leaves every link broken)
    targets = set(log.first_pass) if log is not None else set(pages_on_disk)
    ok = total = 0
    for title, x in last.items():
        if not written(x):
            continue
        for shown, resolved_path in wiki_links(ANSWER_NAME, x.answer):
            total += 1
            ok += resolved_path in targets
            if resolved_path not in targets:
                problems.append(f"raw: page {title!r} links {shown}, no page before the loop")
    ratios["raw_links"] = (ok, total)
    return RawScore(ratios, blocks, problems)
