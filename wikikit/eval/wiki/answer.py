"""One page answer scored on its own: the single-skill `semanticwiki_page` task's metrics.

The item is a SemanticWiki page prompt (wikikit.semanticwiki.items); the answer is what the model
wrote for it. Shares are (hits, total) pairs, as everywhere in wikikit.eval.metrics:
- refs_right (headline): references that resolve at the commit and whose lines lie inside what
  their sentence names; an answer without any reference counts as one wrong reference, so
  saying nothing cannot score;
- refs_resolved, refs_precise, ref_coverage: as for a whole wiki (refs.py);
- h1, sections: `# <title>` first, and the three required sections (pages.py);
- mermaid_valid: blocks Mermaid's own parser accepts (an answer without a diagram counts none:
  the page prompt does not ask for one);
- related: the pages the prompt listed under Related Documentation that the answer links to;
- accepted: longer than the 200 characters under which SemanticWiki asks again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wikikit.eval.metrics import Ratio
from wikikit.eval.wiki.cost import MIN_PAGE_CHARS
from wikikit.eval.wiki.links import wiki_links
from wikikit.eval.wiki.pages import page_shape
from wikikit.eval.wiki.refs import RepoFacts, check_page_refs

Validator = Callable[[Sequence[Any]], Sequence[Any]]
PAGE_NAME = "page.md"  # the answer's own name: links resolve beside it, as in the flat wiki


def score_page_answer(
    answer: str, item: Mapping[str, Any], facts: RepoFacts, validator: Validator | None = None
) -> dict[str, Ratio]:
    from wikikit.mermaid import extract_mermaid_blocks

    shape = page_shape(PAGE_NAME, answer, item.get("title"))
    refs = check_page_refs(PAGE_NAME, answer, facts)
    precise, resolved, n = refs.precise[0], refs.resolved[0], len(refs.refs)
    blocks = extract_mermaid_blocks(answer)
    if blocks:
        if validator is None:
            from wikikit.mermaid import validate_blocks as validator
        results = list(validator(blocks))
    else:
        results = []
    listed = list(item.get("related") or [])
    linked = {resolved_path for _, resolved_path in wiki_links(PAGE_NAME, answer)}
    return {
        "refs_right": (precise, max(n, 1)),
        "refs_resolved": (resolved, n),
        "refs_precise": (precise, resolved),
        "ref_coverage": refs.components,
        "h1": (int(shape.h1), 1),
        "sections": (sum(shape.sections.values()), len(shape.sections)),
        "mermaid_valid": (sum(r.ok for r in results), len(results)),
        "related": (sum(f in linked for f in listed), len(listed)),
        "accepted": (int(len(answer) > MIN_PAGE_CHARS), 1),
    }
