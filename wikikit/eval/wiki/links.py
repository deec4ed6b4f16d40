"""Internal links of a wiki, judged by SemanticWiki's own rule.

The rule is `verifyWikiCompleteness` in SemanticWiki 1.2.1 (dist/wiki-agent.js), the check whose
broken links make the client generate missing pages:
- links are `[text](target)` (regex `\\[([^\\]]+)\\]\\(([^)]+)\\)`) and `[[Page]]` or
  `[[path|Shown]]` wiki links (`\\[\\[([^\\]|]+)(?:\\|[^\\]]+)?\\]\\]`), searched in the whole page
  text, code blocks included; a wiki link gets `.md` appended unless it ends with it;
- skipped: targets starting with `http://`, `https://`, `#`, `mailto:`, containing `github.com`,
  or matching `\\.(ts|js|py|go|rs|java|tsx|jsx|cbl|cob|cpy|jcl)[:L#]` (source references);
- a target that ends with `.md` or contains `.md#` is cut at `#`, resolved against the linking
  page's folder, skipped when it leaves the wiki folder, and broken when no page is there.
Every other target is not a wiki link. Here every link occurrence is counted (SemanticWiki
itself lists each broken target once: `broken_targets`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from wikikit.eval.metrics import Ratio

_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_WIKI_LINK = re.compile(r"\[\[([^\]|]+)(?:\|[^\]]+)?\]\]")
_SOURCE = re.compile(r"\.(ts|js|py|go|rs|java|tsx|jsx|cbl|cob|cpy|jcl)[:L#]", re.I)


@dataclass
class LinkScore:
    links: Ratio  # (resolving, all wiki links)
    broken_targets: list[str] = field(default_factory=list)  # wiki paths, each once
    problems: list[str] = field(default_factory=list)


def link_target(page: str, target: str) -> str | None:
    """The wiki path a link points to, or None when the rule does not treat it as a wiki link."""
    if (
        target.startswith(("http://", "https://", "#", "mailto:"))
        or "github.com" in target
        or _SOURCE.search(target)
    ):
        return None
    if not (target.endswith(".md") or ".md#" in target):
        return None
    clean = target.split("#", 1)[0]
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), clean))
    if resolved == ".." or resolved.startswith("../") or resolved.startswith("/"):
        return None  # outside the wiki folder
    return resolved


def wiki_links(page: str, text: str) -> list[tuple[str, str]]:
    """(as written, resolved wiki path) for each wiki link of one page, in the rule's order."""
    found = []
    for m in _MD_LINK.finditer(text):
        resolved = link_target(page, m.group(2))
        if resolved is not None:
            found.append((m.group(2), resolved))
    for m in _WIKI_LINK.finditer(text):
        name = m.group(1).strip()
        written = name if name.endswith(".md") else f"{name}.md"
        resolved = link_target(page, written)
        if resolved is not None:
            found.append((m.group(0), resolved))
    return found


def score_links(pages: Mapping[str, str]) -> LinkScore:
    """Links of a whole wiki ({path relative to the wiki folder: text})."""
    ok = total = 0
    broken: list[str] = []
    problems: list[str] = []
    for page, text in pages.items():
        for written, resolved in wiki_links(page, text):
            total += 1
            if resolved in pages:
                ok += 1
                continue
            problems.append(f"{page}: broken link {written}")
            if resolved not in broken:
                broken.append(resolved)
    return LinkScore((ok, total), broken, problems)
