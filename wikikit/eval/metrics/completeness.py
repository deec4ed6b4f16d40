"""Completeness of a generated wiki (several pages): links, references, required pages.

- links: internal wiki links that reach a page (a relative `*.md` target, resolved against the
  linking page; or DeepWiki's `#8.2` page ids). Links to source files are references, not pages;
  http(s) links, same-page anchors and DeepWiki's "Relevant source files" lists are not checked;
- referenced: pages that carry at least one source reference (wikikit.code.refs);
- required: required pages or sections present (a page path, or a heading in any page);
- completeness (headline): the mean of the three shares, over one wiki.
A wiki comes from SemanticWiki's `write_wiki_page` calls in the output, or `<!-- page: path -->`
markers, one page per marker.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wikikit.code.refs import parse_refs
from wikikit.eval.metrics import Ratio, share
from wikikit.eval.metrics.traceability import blank_code

_LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\((?P<target>[^)\s]*)\)")
_PAGE_ID = re.compile(r"#(?P<id>\d+(?:\.\d+)*)")
_MARKER = re.compile(r"^<!--\s*page:\s*(?P<path>\S+)\s*-->\s*$", re.M)
_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*\s*$", re.M)
# DeepWiki's "Relevant source files" list links repository files (README.md too), not pages.
_SOURCE_LIST = re.compile(
    r"<details>\s*<summary>[^<]*source[^<]*</summary>.*?</details>", re.S | re.I
)


@dataclass
class CompletenessScore:
    links: Ratio
    referenced: Ratio
    required: Ratio
    completeness: float
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float]:
        d = {k: share(getattr(self, k)) for k in ("links", "referenced", "required")}
        d["completeness"] = self.completeness
        return d


def pages_from_output(output: str) -> dict[str, str]:
    """The wiki a generation wrote: write_wiki_page calls, else `<!-- page: path -->` sections."""
    from wikikit.eval.metrics.tooluse import parse_tool_calls

    pages: dict[str, str] = {}
    for call in parse_tool_calls(output or ""):
        args = call.arguments if isinstance(call.arguments, dict) else {}
        if call.name == "write_wiki_page" and isinstance(args.get("pagePath"), str):
            title = args.get("title")
            body = str(args.get("content", ""))
            pages[args["pagePath"]] = (f"# {title}\n\n" if title else "") + body
    if pages:
        return pages
    marks = list(_MARKER.finditer(output or ""))
    for m, nxt in zip(marks, [*marks[1:], None], strict=False):  # the None pairs with the last
        pages[m["path"]] = output[m.end() : nxt.start() if nxt else len(output)].strip()
    return pages


def _link_target(page: str, target: str, pages: Mapping[str, str]) -> str | None:
    """The page a link points to ('' = not a wiki link)."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
        return ""  # http:, mailto:, ...
    m = _PAGE_ID.fullmatch(target)
    if m:
        return m["id"]
    path = target.split("#", 1)[0].split("?", 1)[0]
    if not path.endswith(".md"):
        return ""
    return posixpath.normpath(posixpath.join(posixpath.dirname(page), path)).lstrip("/")


def _normal(path: str) -> str:
    return posixpath.normpath(path).lstrip("/")


def score_completeness(pages: Mapping[str, str], required: Sequence[str] = ()) -> CompletenessScore:
    """Score one wiki ({page path or id: markdown})."""
    pages = {_normal(p): t for p, t in pages.items()}
    problems: list[str] = []
    links_ok = links_total = 0
    referenced = 0
    headings: set[str] = set()
    for page, text in pages.items():
        prose = blank_code(text)
        for m in _LINK.finditer(_SOURCE_LIST.sub("", prose)):
            target = _link_target(page, m["target"], pages)
            if not target:
                continue
            links_total += 1
            if target in pages:
                links_ok += 1
            else:
                problems.append(f"{page}: broken link to {m['target']}")
        if parse_refs(prose):
            referenced += 1
        else:
            problems.append(f"{page}: no source reference")
        headings.update(h["text"].strip().lower() for h in _HEADING.finditer(prose))
    present = 0
    for item in required:
        key = item.strip().lower()
        if _normal(item) in pages or any(key in h for h in headings):
            present += 1
        else:
            problems.append(f"missing required page or section: {item}")
    links = (links_ok, links_total)
    refs = (referenced, len(pages))
    req = (present, len(required))
    if not pages:
        return CompletenessScore(links, refs, req, 0.0, ["no pages"])
    parts = [share(links) if links_total else 1.0, share(refs), share(req) if required else 1.0]
    return CompletenessScore(links, refs, req, sum(parts) / 3, problems)
