"""Checks of SemanticWiki local-mode examples against what the client asked for.

An example recorded through the real client (`meta.protocol` from wikikit.semanticwiki) is
judged by the rules of its own prompt (wikikit.semanticwiki.protocol):

- plan: the answer parses the way the client parses it, and the client keeps it: a plan it
  throws away whole for its own pattern plan (a kept page without `type` or `filename`, `files`
  as a string, ...: wikikit.semanticwiki.plan_check, the same check the eval's plan_accepted
  uses) is never trained; it lists pages; every file it names is one the client listed, i.e.
  exists in the repository at its commit (`plan_unparsable`, `plan_discarded`, `plan_no_pages`,
  `plan_file_missing`);
- page: the answer starts with `# <title>` (`page_no_h1`), and, when the recipe sets
  `data.quality.min_context_share`, at least that share of its references cite a file the
  prompt's code context shows (`low_context_share`);
- any call: answer and thinking fit the call's `num_predict` (the deployed model is cut there;
  `over_num_predict`).

References resolving at the commit (file exists, line inside it) is VerifyRefsFilter's job.
"""

from __future__ import annotations

from collections import Counter

from wikikit.example import Example
from wikikit.semanticwiki import protocol
from wikikit.semanticwiki.plan_check import check_plan
from wikikit.tokens import count_tokens


class LocalModeFilter:
    name = "local_mode"

    def __init__(self, min_context_share: float | None = None):
        self.min_context_share = min_context_share
        self.counts: Counter = Counter()

    def check(self, example: Example) -> str | None:
        meta = example.meta or {}
        if not str(meta.get("protocol", "")).startswith(protocol.CLIENT_NAME):
            return None
        user = next((m.content for m in example.messages if m.role == "user"), "")
        answer = example.assistant_text
        thinking = "".join(m.thinking or "" for m in example.messages if m.role == "assistant")
        limit = (meta.get("options") or {}).get("num_predict")
        if limit and count_tokens(answer) + (count_tokens(thinking) if thinking else 0) > int(
            limit
        ):
            return f"over_num_predict ({limit} tokens)"
        if example.category == "plan":
            return self._plan(user, answer)
        if example.category == "page":
            return self._page(meta, answer)
        return None

    def _plan(self, user: str, answer: str) -> str | None:
        pages = protocol.plan_pages(answer)
        if pages is None:
            return "plan_unparsable"
        prompt = protocol.parse_plan_prompt(user)
        listed = set(prompt.files)
        checked = check_plan(answer, listed, prompt.min_pages)
        if not checked.accepted:
            return f"plan_discarded ({checked.reason})"
        if not pages:
            return "plan_no_pages"
        for page in pages:
            for path in page.get("files") or []:
                if path not in listed:
                    return f"plan_file_missing ({path})"
        self.counts["plan_pages"] += len(pages)
        return None

    def _page(self, meta: dict, answer: str) -> str | None:
        title = meta.get("title")
        if title is not None and not protocol.page_has_title(answer, title):
            return "page_no_h1"
        total = int(meta.get("refs_total") or 0)
        if total:
            self.counts["refs_total"] += total
            self.counts["refs_file_in_context"] += int(meta.get("refs_file_in_context") or 0)
        if self.min_context_share is not None and total:
            share = int(meta.get("refs_file_in_context") or 0) / total
            if share < self.min_context_share:
                return f"low_context_share ({share:.2f})"
        return None
