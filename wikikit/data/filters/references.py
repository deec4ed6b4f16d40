"""Reference filters: documentation must cite code, and every citation must be real.

`RequireRefsFilter` drops documentation examples that cite nothing. `VerifyRefsFilter` re-checks
every `file:line` reference (parsed from the assistant text with wikikit.code.refs, plus the
Example's own `refs`) against the repository the example documents, when that repository is
available: no hallucinated paths, no ranges past the end of a file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.example import Example

# Categories whose answers are documentation and so must carry source references.
# A SemanticWiki `page` must cite code too: its prompt asks for `📄` references throughout.
DOC_CATEGORIES = frozenset(
    {
        "architecture",
        "component",
        "data_flow",
        "getting_started",
        "business_domain",
        "traceability",
        "page",
    }
)


def cited_refs(example: Example) -> list[tuple[str, int, int]]:
    """Every reference the example makes: parsed from assistant text, plus its declared refs."""
    from wikikit.code.refs import parse_refs

    seen: dict[tuple[str, int, int], None] = {}
    for m in parse_refs(example.assistant_text):
        seen[(m.path, m.start, m.end)] = None
    for r in example.refs:
        seen[(r.path, r.start, r.end)] = None
    return list(seen)


class RequireRefsFilter:
    name = "require_refs"

    def __init__(self, categories: frozenset[str] = DOC_CATEGORIES):
        self.categories = categories

    def check(self, example: Example) -> str | None:
        if example.category not in self.categories:
            return None
        if example.refs:
            return None
        from wikikit.code.refs import parse_refs

        if parse_refs(example.assistant_text):
            return None
        return "no_refs"


class RepoIndex:
    """The repositories the recipe's sources read, opened lazily and found by id or name."""

    def __init__(self, recipe: Any, cache_dir: Path):
        self.recipe = recipe
        self.cache_dir = Path(cache_dir)
        self._repos: dict[str, Any] | None = None
        self._pins: dict[str, Any | None] = {}
        self.errors: list[str] = []

    def _open_all(self) -> dict[str, Any]:
        from collections import defaultdict
        from types import SimpleNamespace

        from wikikit.data import pools

        # The opener every code-reading source uses: same path resolution, same clone cache.
        from wikikit.data.sources._repos import open_source_repo

        repos: dict[str, Any] = {}
        data = (getattr(self.recipe, "data", {}) or {}).get("data", {}) or {}
        sources = data.get("sources", {}) or {}
        mix = data.get("mix")
        # Only sources the mix runs: another source's repositories were never cloned.
        mixed = {s for b in (mix or {}).values() for s in (b or {}).get("sources") or []}
        for name, cfg in sources.items():
            if mix and name not in mixed:
                continue
            cfg = cfg or {}
            ctx = SimpleNamespace(
                recipe=self.recipe, cache_dir=self.cache_dir, key_path=("data", "sources", name)
            )
            if cfg.get("pool") and not pools.replays_deepwiki(cfg):
                # the pool's repositories at the commits the source pinned (a replay's are the
                # wikis' commits, which only the source knows: not opened here)
                pinned = SimpleNamespace(
                    **vars(ctx), dry_run=True, stats=defaultdict(Counter), artifacts={}
                )
                cfg = pools.with_pool(name, cfg, pinned)
            specs = cfg.get("repos") or []
            if cfg.get("kind") == "deepwiki":
                continue  # wiki names, not checkouts: its pinned clones are found by `_pinned`
            if cfg.get("kind") == "semanticwiki":
                self._open_semanticwiki(name, cfg, ctx, repos)
                continue
            # codewikibench maps a dataset repo_name to its checkout: {repo_name: spec}.
            pairs = list(specs.items()) if isinstance(specs, dict) else list(enumerate(specs))
            for i, spec in pairs:
                try:
                    repo = open_source_repo(spec, i, ctx, int(cfg.get("max_file_bytes", 1_000_000)))
                except Exception as exc:  # a repo we cannot open is "unavailable", not fatal
                    self.errors.append(f"data.sources.{name}.repos.{i}: {exc}")
                    continue
                for key in (repo.id, repo.name):
                    repos.setdefault(key, repo)
        for err in self.errors:
            console.warn(f"reference check: repository unavailable: {err}")
        return repos

    def _open_semanticwiki(self, name: str, cfg: dict, ctx: Any, repos: dict[str, Any]) -> None:
        """Its `repos:` and its CodeWikiBench rows' checkouts, opened as the source opens them."""
        from wikikit.data.sources import SourceContext, semanticwiki

        ctx = SourceContext(recipe=ctx.recipe, cache_dir=ctx.cache_dir, key_path=ctx.key_path)
        try:
            targets = semanticwiki.resolve_targets(name, cfg, ctx, semanticwiki.holdout_of(ctx))
        except Exception as exc:  # noqa: BLE001 - unavailable, not fatal (as below)
            self.errors.append(f"data.sources.{name}: {exc}")
            return
        for target in targets:
            try:
                repo = semanticwiki.open_target(target, ctx, cfg)
            except Exception as exc:  # noqa: BLE001
                self.errors.append(f"data.sources.{name}.repos.{target.index}: {exc}")
                continue
            for key in (repo.id, repo.name):
                repos.setdefault(key, repo)

    def get(self, repo_id: str | None) -> Any | None:
        if not repo_id:
            return None
        if self._repos is None:
            self._repos = self._open_all()
        if repo_id in self._repos:
            return self._repos[repo_id]
        name, _, commit = repo_id.partition("@")
        if commit:
            # A checkout at another commit cannot vouch for this example's lines (git history);
            # a wiki's repository pinned at the wiki's commit can.
            if repo_id not in self._pins:
                self._pins[repo_id] = self._pinned(repo_id)
            return self._pins[repo_id]
        return self._repos.get(name)

    def _pinned(self, repo_id: str) -> Any | None:
        """A deepwiki source's checkout of a wiki's repository at the wiki's commit."""
        from wikikit.data.sources.deepwiki import pinned_repo

        sources = (getattr(self.recipe, "data", {}) or {}).get("data", {}).get("sources", {}) or {}
        for name, cfg in sources.items():
            if (cfg or {}).get("kind") == "deepwiki":
                repo = pinned_repo(name, cfg, self.cache_dir, repo_id)
                if repo is not None:
                    return repo
        return None

    def add(self, repo: Any) -> None:
        """Register an already open repository (tests, or sources that opened one)."""
        if self._repos is None:
            self._repos = {}
        self._repos[repo.id] = repo
        self._repos.setdefault(repo.name, repo)


class VerifyRefsFilter:
    name = "verify_refs"

    def __init__(self, repos: RepoIndex):
        self.repos = repos
        self.counts: Counter = (
            Counter()
        )  # notes that are not drops (repo unavailable, refs checked)

    def check(self, example: Example) -> str | None:
        refs = cited_refs(example)
        if not refs:
            return None
        repo = self.repos.get(example.repo)
        if repo is None:
            self.counts["repo_unavailable"] += 1
            return None
        from wikikit.code.refs import verify_ref

        for path, start, end in refs:
            problem = verify_ref(repo, path, start, end)
            if problem:
                self.counts["refs_bad"] += 1
                return f"bad_ref ({problem})"
        self.counts["refs_verified"] += len(refs)
        return None
