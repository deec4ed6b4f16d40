"""Scores of a wiki SemanticWiki wrote, read from its output folder and its recorded exchanges.

    score_wiki(wiki_dir, repo, exchanges=...) -> WikiScore

Each share is a (hits, total) pair, so several wikis combine by summing (and a bootstrap over
repos resamples whole wikis):
- plan_parses, plan_files: the plan call's JSON parses as SemanticWiki parses it; its files
  exist at the commit (plan.py; needs the exchanges);
- h1, sections: content pages start with `# <title>` (the title their prompt asked for, when
  the exchanges say) and have the required sections (pages.py); index.md is not a content page;
- refs_resolved, refs_precise, refs_right, ref_coverage: references resolve at the commit; the
  cited lines lie inside what the sentence names (precision, over resolved references); both
  (over all references: "references right"); components carrying a reference (refs.py);
- mermaid_valid: fenced mermaid blocks that Mermaid's own parser accepts (wikikit.mermaid);
- links: internal links that resolve, by SemanticWiki's own rule (links.py);
- cost: tokens and seconds per page, thinking included, retries (cost.py; needs the exchanges).

Those are the FILE scores: what the client wrote to disk after its repairs. Beside them, the
RAW scores (`raw_*`, raw.py) count what the model itself answered, from the exchanges: pages
planned and requested that got written, plan accepted by the client's own validation, answers
cut at the token limit, references (and their form), Mermaid and links before the client's
rewriting and its completeness loop. Gates on the wiki read the raw ones (results.check_gates).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit.code.repo import Repo
from wikikit.eval.metrics import Ratio, share
from wikikit.eval.wiki.cost import CostScore, score_cost
from wikikit.eval.wiki.exchanges import Exchange, read_exchanges
from wikikit.eval.wiki.links import score_links
from wikikit.eval.wiki.pages import INDEX_PAGE, content_pages, page_shape, read_wiki
from wikikit.eval.wiki.plan import PlanScore, score_plan
from wikikit.eval.wiki.raw import RAW_RATIOS, ClientLog, read_client_log, score_raw
from wikikit.eval.wiki.refs import RepoFacts, check_page_refs

# (blocks from wikikit.mermaid.extract_mermaid_blocks) -> one Result(ok, ...) per block
Validator = Callable[[Sequence[Any]], Sequence[Any]]
RATIOS = (
    "plan_parses",
    "plan_files",
    "h1",
    "sections",
    "refs_resolved",
    "refs_precise",
    "refs_right",
    "ref_coverage",
    "mermaid_valid",
    "links",
)
__all__ = ["RATIOS", "RAW_RATIOS", "WikiScore", "score_wiki"]


@dataclass
class WikiScore:
    ratios: dict[str, Ratio]
    cost: CostScore | None
    plan: PlanScore | None
    pages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Shares (None where nothing was counted), then the cost figures."""
        out: dict[str, Any] = {k: (share(v) if v[1] else None) for k, v in self.ratios.items()}
        if self.cost is not None:
            out.update(self.cost.as_dict())
        return out

    def record(self, repo: Repo, model: Any, seconds: float, calls: int) -> dict[str, Any]:
        """What `scores.json` beside a written wiki holds (the eval harness and `wikikit try`)."""
        return {
            "repo": repo.id,
            "model": model,
            "client_seconds": seconds,
            "calls": calls,
            "pages": self.pages,
            "scores": self.as_dict(),
            "problems": self.problems[:500],
        }


def _validator() -> Validator:
    from wikikit.mermaid import validate_blocks

    return validate_blocks


def _titles(exchanges: Sequence[Exchange], plan: PlanScore | None) -> dict[str, str]:
    """{page filename: the title its prompt asked for} from the plan and the page prompts.

    When the model's plan does not parse, the client plans by itself (its pattern-based plan,
    dist/wiki-agent.js generateComprehensivePages) and no answer holds that plan; but every page
    prompt links up to five other pages as `- [Title](./file.md)` (generateSinglePage), so the
    page prompts name each other's files."""
    from wikikit.semanticwiki.protocol import parse_page_prompt

    asked = {x.title for x in exchanges if x.kind == "page"}
    # a plan the client discarded named none of the pages it asked for
    kept = plan.pages if plan is not None and plan.accepted else []
    titles = {p.filename: p.title for p in kept if p.title in asked}
    for x in exchanges:
        if x.kind != "page":
            continue
        try:
            related = parse_page_prompt(x.user).related
        except ValueError:
            continue
        for title, filename in related:
            if title in asked:
                titles.setdefault(filename, title)
    return titles


def score_wiki(
    wiki_dir: str | Path,
    repo: Repo,
    exchanges: str | Path | Sequence[Exchange] | None = None,
    validator: Validator | None = None,
    log: str | Path | ClientLog | None = None,
) -> WikiScore:
    """Every metric of one wiki against the repository it documents (at the wiki's commit):
    the files' and, given the exchanges, the raw answers' (`log`: the client's, which names
    the pages its completeness loop added)."""
    from wikikit.mermaid import extract_mermaid_blocks

    pages = read_wiki(wiki_dir)
    if isinstance(exchanges, str | Path):
        exchanges = read_exchanges(exchanges)
    xs = list(exchanges or [])
    problems: list[str] = []
    plan = None
    plan_calls = [x for x in xs if x.kind == "plan"]
    if plan_calls:
        plan = score_plan(plan_calls[0].answer, plan_calls[0].user, repo)
        problems += plan.problems
    titles = _titles(xs, plan)
    facts = RepoFacts(repo)
    h1 = sections = n_sections = 0
    resolved = precise = n_refs = with_ref = components = 0
    content = content_pages(pages)
    for path in content:
        shape = page_shape(path, pages[path], titles.get(path))
        h1 += shape.h1
        sections += sum(shape.sections.values())
        n_sections += len(shape.sections)
        problems += shape.problems
    for path, text in pages.items():
        checked = check_page_refs(path, text, facts)
        resolved += checked.resolved[0]
        precise += checked.precise[0]
        n_refs += len(checked.refs)
        if path != INDEX_PAGE:
            with_ref += checked.components[0]
            components += checked.components[1]
        problems += checked.problems
    if isinstance(log, str | Path):
        log = read_client_log(log)
    raw = score_raw(xs, plan, facts, list(pages), log) if xs else None
    blocks = [(path, b) for path, text in pages.items() for b in extract_mermaid_blocks(text)]
    raw_blocks = raw.mermaid_blocks if raw is not None else []
    # one validator call (one node process) for the files' blocks and the answers'
    every = [b for _, b in blocks] + [b for _, b in raw_blocks]
    verdicts = list((validator or _validator())(every)) if every else []
    results, raw_results = verdicts[: len(blocks)], verdicts[len(blocks) :]
    problems += [
        f"{path}:{b.line}: mermaid: {r.message}"
        for (path, b), r in zip(blocks, results, strict=True)
        if not r.ok
    ]
    links = score_links(pages)
    problems += links.problems
    ratios: dict[str, Ratio] = {
        # parsed AND kept: a plan the client throws away is no parsed plan of the wiki
        "plan_parses": (int(plan.parses and plan.accepted), 1) if plan is not None else (0, 0),
        "plan_files": plan.files if plan is not None else (0, 0),
        "h1": (h1, len(content)),
        "sections": (sections, n_sections),
        "refs_resolved": (resolved, n_refs),
        "refs_precise": (precise, resolved),
        "refs_right": (precise, n_refs),
        "ref_coverage": (with_ref, components),
        "mermaid_valid": (sum(r.ok for r in results), len(results)),
        "links": links.links,
    }
    if raw is not None:
        ratios.update(raw.ratios)
        ratios["raw_mermaid_valid"] = (sum(r.ok for r in raw_results), len(raw_results))
        problems += raw.problems
    if not content:
        problems.append(f"{wiki_dir}: no content pages")
    return WikiScore(ratios, score_cost(xs) if xs else None, plan, list(pages), problems)
