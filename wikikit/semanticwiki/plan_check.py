"""Does SemanticWiki keep the model's plan, or throw it away for its own pattern plan?

The one mirror of the client's plan handling, read in SemanticWiki 1.2.1's
dist/wiki-agent.js (the installed pack, ~/.cache/wikikit/semanticwiki/1.2.1-438524a-*/
node_modules/semanticwiki/dist/), `analyzeProjectWithLLM` :1040-1199, and checked against that
code run by node (tests/test_plan_check.py, tests/plan_check_node.mjs):

- an empty answer (:1116) or one `JSON.parse` rejects after one leading ```` ``` ````/
  ```` ```json ```` line and one trailing fence are cut (:1123-1133) -> pattern plan;
- everything after the parse sits in one `try`, so any TypeError there also falls back to the
  pattern plan (:1192-1196), for the WHOLE plan. What throws:
  `analysis.pages.length` without `pages` (:1135); iterating `pages` that is not a list or a
  string (:1139); a page that is null (`page.files`, :1140); `files` that is truthy but not a
  list (a string: `.filter` is not a function, :1140); for a page the client keeps (a listed
  file in `files`, or `type` exactly "overview"/"guide", :1143) a `filename` that is not a
  string (`.endsWith`, :1146) or a `type` that is not a string (`normalizePageType`'s
  `.toLowerCase()`, :1651); and a kept page whose `title` is not a string, when the client
  augments a short plan (`p.title.toLowerCase()`, augmentWithPatternPages :1295) or looks for a
  Getting Started page (:1176, `.some` stops at the first title containing it);
- pages with no listed file that are not overview/guide are dropped silently (:1143).
The files the client checks against are its own scan, exactly the plan prompt's
`## Project Files` list; the minimum page count is the prompt's `Required pages: N-M`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

_OPEN_FENCE = re.compile(r"\A```(?:json)?\n?")  # JS /^```(?:json)?\n?/ (no m flag)
_CLOSE_FENCE = re.compile(r"\n?```\Z")  # JS /\n?```$/: the end of the string only
_KEEP_TYPES = ("overview", "guide")  # :1143, compared with ===


@dataclass
class PlanCheck:
    accepted: bool  # the client writes the model's plan (possibly augmented), not its own
    reason: str | None = None  # why it falls back, when it does
    kept: list[dict[str, Any]] = field(default_factory=list)  # the model's pages it keeps
    dropped: int = 0  # pages skipped without a listed file (not overview/guide)
    adds_overview: bool = False  # no kept page of type overview: Architecture Overview first
    adds_getting_started: bool = False  # no title with "getting started": one appended


def _js_truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") or isinstance(value, list | dict)


def parse_answer(answer: str) -> Any:
    """The client's parse (:1123-1128); ValueError where `JSON.parse` throws."""
    text = answer.strip()
    if text.startswith("```"):
        text = _CLOSE_FENCE.sub("", _OPEN_FENCE.sub("", text, count=1), count=1)

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity; JSON.parse not

    return json.loads(text, parse_constant=no_constant)


def _fail(reason: str) -> PlanCheck:
    return PlanCheck(False, reason)


def check_plan(answer: str, listed: Collection[str], min_pages: int) -> PlanCheck:
    """What the client does with a plan answer, given the files its prompt listed and its
    minimum page count."""
    if not answer:
        return _fail("empty answer")
    try:
        analysis = parse_answer(answer)
    except ValueError as e:
        return _fail(f"not JSON as the client parses it ({e})")
    if analysis is None:
        return _fail("the answer is null")
    pages = analysis.get("pages") if isinstance(analysis, dict) else None
    if pages is None:
        return _fail("no `pages`")
    if isinstance(pages, str):
        pages = list(pages)  # for...of over a string: one-letter strings, each skipped
    elif not isinstance(pages, list):
        return _fail("`pages` is not a list")
    existing = set(listed)
    kept: list[dict[str, Any]] = []
    dropped = 0
    for i, page in enumerate(pages, 1):
        if page is None:
            return _fail(f"page {i} is null")
        if not isinstance(page, dict):
            dropped += 1  # a number, string or list has no fields: nothing listed, no type
            continue
        files = page.get("files")
        if _js_truthy(files) and not isinstance(files, list):
            return _fail(f"page {i}: `files` is {type(files).__name__}, not a list")
        valid = [f for f in files or [] if isinstance(f, str) and f in existing]
        if not valid and page.get("type") not in _KEEP_TYPES:
            dropped += 1
            continue
        if not isinstance(page.get("filename"), str):
            return _fail(f"page {i}: no `filename` string")
        if not isinstance(page.get("type"), str):
            return _fail(f"page {i}: no `type` string")
        name = page["filename"]
        kept.append(
            {
                "title": page.get("title"),
                "filename": name if name.endswith(".md") else f"{name}.md",
                "type": page["type"],
                "files": valid,
            }
        )
    if len(kept) < min_pages:
        bad = next((i for i, p in enumerate(kept, 1) if not isinstance(p["title"], str)), None)
        if bad is not None:
            return _fail(f"kept page {bad}: no `title` string (the client augments the plan)")
    adds_overview = not any(p["type"] == "overview" for p in kept)
    for i, p in enumerate(kept, 1):
        if not isinstance(p["title"], str):
            return _fail(f"kept page {i}: no `title` string")
        if "getting started" in p["title"].lower():
            return PlanCheck(True, None, kept, dropped, adds_overview, False)
    return PlanCheck(True, None, kept, dropped, adds_overview, True)
