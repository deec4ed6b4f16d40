"""The plan call's answer, read the way SemanticWiki reads it.

SemanticWiki 1.2.1 (dist/wiki-agent.js, analyzeProjectWithLLM) trims the answer, removes one
leading ```` ``` ```` / ```` ```json ```` fence line and one trailing fence, and `JSON.parse`s the
rest; when that fails it drops the model's plan for its own pattern-based one. It keeps a page's
`files` that exist in its file scan, a `filename` gets `.md` appended when it lacks it, and the
prompt asks for `Required pages: N-M`.

Parsing is not keeping: the client throws a parsed plan away whole for its pattern plan when a
kept page lacks `type` or `filename`, has `files` as a string, ... (wikikit.semanticwiki.
plan_check, checked against the client's own code). `accepted` says whether it keeps it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wikikit.code.repo import Repo
from wikikit.eval.metrics import Ratio
from wikikit.semanticwiki.plan_check import PlanCheck, check_plan, parse_answer
from wikikit.semanticwiki.protocol import parse_plan_prompt

_REQUIRED = re.compile(r"\*\*Required pages: (?P<low>\d+)-(?P<high>\d+)\*\*")


@dataclass
class PlannedPage:
    title: str
    filename: str
    type: str
    files: list[str]


@dataclass
class PlanScore:
    parses: bool  # JSON as the client parses it, with a `pages` list
    accepted: bool = False  # the client keeps it (plan_check), not its own pattern plan
    check: PlanCheck | None = None
    pages: list[PlannedPage] = field(default_factory=list)
    files: Ratio = (0, 0)  # (listed files that exist at the commit, listed files)
    count_ok: bool | None = None  # the page count lies in the prompt's required range
    problems: list[str] = field(default_factory=list)


def _page(obj: Any) -> PlannedPage | None:
    if not isinstance(obj, dict):
        return None
    title, filename = obj.get("title"), obj.get("filename")
    if not isinstance(title, str) or not isinstance(filename, str) or not filename:
        return None
    files = [f for f in obj.get("files") or [] if isinstance(f, str)]
    name = filename if filename.endswith(".md") else f"{filename}.md"
    return PlannedPage(title, name, str(obj.get("type") or ""), files)


def score_plan(answer: str, user_prompt: str, repo: Repo) -> PlanScore:
    """Does the plan parse, does the client keep it, are its pages well formed, do its files
    exist, is the count right?"""
    prompt = parse_plan_prompt(user_prompt)
    checked = check_plan(answer, prompt.files, prompt.min_pages)
    kept = [] if checked.accepted else [f"plan: SemanticWiki discards it: {checked.reason}"]
    try:
        obj = parse_answer(answer)  # the client's parse, in one place
    except ValueError as e:
        return PlanScore(
            False,
            checked.accepted,
            checked,
            problems=[f"plan: not JSON as SemanticWiki parses it ({e})"],
        )
    raw = obj.get("pages") if isinstance(obj, dict) else None
    if not isinstance(raw, list):
        return PlanScore(
            False, checked.accepted, checked, problems=["plan: no `pages` list"] + kept
        )
    pages = [p for p in (_page(x) for x in raw) if p is not None]
    problems = kept + [
        f"plan: page {i + 1} lacks a title or filename"
        for i, x in enumerate(raw)
        if _page(x) is None
    ]
    listed = [f for p in pages for f in p.files]
    missing = [f for f in listed if not repo.exists(f)]
    problems += [f"plan: file {f} does not exist at the commit" for f in dict.fromkeys(missing)]
    m = _REQUIRED.search(user_prompt)
    count_ok = None
    if m:
        count_ok = int(m["low"]) <= len(pages) <= int(m["high"])
        if not count_ok:
            problems.append(f"plan: {len(pages)} pages, the prompt requires {m['low']}-{m['high']}")
    files = (len(listed) - len(missing), len(listed))
    return PlanScore(True, checked.accepted, checked, pages, files, count_ok, problems)
