"""Wiki metrics on planted SemanticWiki wikis with known answers, each checked independently.

The repository is demo/shop committed to a temporary git repo and then edited in the working
tree, so "resolves at the commit" is really checked at the commit. Every expected number is
computed here from first principles (a separate regex for `📄` references, Python's ast for
definition ranges, `git show` for file contents, SemanticWiki's link rule restated), never by
calling the code under test.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import planted_wiki as planted
import pytest
from git_fixtures import commit_all, git, init_repo
from planted_wiki import BAD_PAGE, at_commit, def_ranges

from wikikit.code.repo import open_repo
from wikikit.errors import InputError
from wikikit.eval.wiki import score_wiki
from wikikit.eval.wiki.exchanges import read_exchanges
from wikikit.eval.wiki.links import score_links

SHOP = Path(__file__).resolve().parents[1] / "demo" / "shop"
PAGE_SYSTEM = "You are a senior technical writer creating internal documentation"


@pytest.fixture(scope="module")
def shop_repo(tmp_path_factory):
    """demo/shop at a commit, with the working tree changed afterwards."""
    root = tmp_path_factory.mktemp("shop")
    shutil.copytree(SHOP, root / "repo")
    repo_dir = root / "repo"
    init_repo(repo_dir)
    commit = commit_all(repo_dir, "shop")
    # after the commit: a new file and shifted lines, which the metrics must not see
    (repo_dir / "shop" / "late.py").write_text("def late():\n    pass\n")
    storage = repo_dir / "shop" / "storage.py"
    storage.write_text("\n" * 40 + storage.read_text())
    repo = open_repo({"path": str(repo_dir), "commit": commit}, root, root / "cache")
    return repo_dir, commit, repo


# (component heading, the name its sentence gives, path, cited line)
COMPONENTS = [
    ("OrderStore", "OrderStore", "shop/storage.py", 11),  # the class line: precise
    ("Saving", "OrderStore.save", "shop/storage.py", 21),  # inside save: precise
    ("Quoting", "quote", "shop/pricing.py", 15),  # line_total's line: imprecise
    ("Line totals", "line_total", "shop/pricing.py", 16),  # inside line_total: precise
    ("Late", "late", "shop/late.py", 1),  # only in the working tree: unresolved
    ("Beyond", "OrderStore", "shop/storage.py", 31),  # storage.py has 30 lines at the commit
    ("Tax", "tax", "shop/pricing.py", 33),  # precise
]


def good_page(title: str, related: list[str]) -> str:
    return planted.good_page(title, related, COMPONENTS)


INDEX = "# shop\n\n- [Storage](./storage.md)\n- [Pricing](./pricing.md)\n- [Gone](./gone.md)\n"


def write_wiki(folder: Path) -> dict[str, str]:
    pages = {
        "storage.md": good_page("Order Storage", ["Pricing"]),
        "pricing.md": BAD_PAGE,
        "index.md": INDEX,
        ".semanticwiki-cache/notes.md": "# not a page\n[x](./nowhere.md)\n",
    }
    for rel, text in pages.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return {k: v for k, v in pages.items() if not k.startswith(".")}


def plan_answer(files: list[str]) -> str:
    plan = {
        "projectType": "Python web shop",
        "pages": [
            {"title": "Order Storage", "filename": "storage", "type": "component",
             "context": "orders", "files": files},
            {"title": "Pricing", "filename": "pricing.md", "type": "module",
             "context": "prices", "files": ["shop/pricing.py"]},
        ],
    }  # fmt: skip
    return "```json\n" + json.dumps(plan, indent=2) + "\n```"


def exchanges(folder: Path) -> Path:
    lines = [
        {"kind": "plan", "system": "You are a software architect",
         "user": "## Project Statistics\n- **Required pages: 5-15** (based on project size)",
         "answer": plan_answer(["shop/storage.py", "shop/late.py", "shop/gone.py"]),
         "options": {"temperature": 0.3, "max_tokens": 8192}, "seconds": 4.0,
         "tokens": {"prompt": 900, "completion": 700}},
        {"kind": "page", "system": PAGE_SYSTEM, "user": '# Documentation Task: "Order Storage"\n\n...',
         "answer": "x" * 150, "thinking": "too short", "options": {"temperature": 0.3},
         "seconds": 10.0, "tokens": {"prompt": 3000, "completion": 120, "thinking": 100}},
        {"kind": "page", "system": PAGE_SYSTEM, "user": '# Documentation Task: "Order Storage"\n\n...',
         "answer": good_page("Order Storage", ["Pricing"]), "thinking": "plan the page",
         "options": {"temperature": 0.1}, "seconds": 30.0,
         "tokens": {"prompt": 3000, "completion": 1900, "thinking": 400}},
        {"kind": "page", "system": PAGE_SYSTEM, "user": '# Documentation Task: "Pricing"\n\n...',
         "answer": BAD_PAGE * 3, "options": {"temperature": 0.3}, "seconds": 20.0,
         "tokens": {"prompt": 2000, "completion": 1000, "thinking": 300}},
        {"kind": "index", "system": "index", "user": "Generate an index page", "answer": INDEX,
         "seconds": 5.0, "tokens": {"prompt": 300, "completion": 200}},
    ]  # fmt: skip
    path = folder / "exchanges.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


def test_planted_wiki_scores_as_computed_independently(shop_repo, tmp_path) -> None:
    repo_dir, commit, repo = shop_repo
    wiki = tmp_path / "wiki"
    pages = write_wiki(wiki)
    score = score_wiki(wiki, repo, exchanges(tmp_path))

    # references: an independent regex over the pages, files and lines from `git show`
    ref_re = re.compile(r"📄 \[([^\]:]+):(\d+)\]\(\.\./\1#L\2\)")
    refs = [(p, m[1], int(m[2])) for p, t in pages.items() for m in ref_re.finditer(t)]
    resolved = [
        (p, path, line)
        for p, path, line in refs
        if (lines := at_commit(repo_dir, commit, path)) is not None and 1 <= line <= len(lines)
    ]
    names = {(path, line): name for _, name, path, line in COMPONENTS}
    precise = 0
    for _, path, line in resolved:
        ranges = def_ranges("\n".join(at_commit(repo_dir, commit, path)))
        precise += any(a <= line <= b for a, b in ranges[names[(path, line)]])
    assert len(refs) == 7 and len(resolved) == 5 and precise == 4  # the plant is what we think
    assert score.ratios["refs_resolved"] == (len(resolved), len(refs))
    assert score.ratios["refs_precise"] == (precise, len(resolved))
    assert score.ratios["refs_right"] == (precise, len(refs))
    # components: every ### under Key Components of storage.md; one has no reference
    assert score.ratios["ref_coverage"] == (len(COMPONENTS), len(COMPONENTS) + 1)

    # H1 and sections: storage.md has all (its planned title), pricing.md none; index excluded
    assert score.ratios["h1"] == (1, 2)
    assert score.ratios["sections"] == (3, 6)
    # mermaid: one valid block, one cut off mid-edge, judged by Mermaid's own parser
    assert score.ratios["mermaid_valid"] == (1, 2)
    # links by SemanticWiki's rule: storage -> pricing ok; pricing -> [[Refunds]] and
    # sub/../api.md broken; index -> storage, pricing ok, gone broken; the cache folder skipped
    assert score.ratios["links"] == (3, 6)
    assert any("broken link [[Refunds]]" in p for p in score.problems)

    # the plan: fenced JSON parses as SemanticWiki parses it; late.py and gone.py are not at
    # the commit; 2 pages against the required 5-15
    assert score.ratios["plan_parses"] == (1, 1)
    assert score.ratios["plan_files"] == (2, 4)
    assert score.plan is not None and score.plan.count_ok is False

    # cost: Order Storage was asked twice (150 characters is under SemanticWiki's 200)
    cost = score.as_dict()
    assert cost["pages_written"] == 2 and cost["page_calls"] == 3 and cost["retries"] == 1
    assert cost["seconds_per_page"] == pytest.approx(((10 + 30) + 20) / 2)
    assert cost["tokens_per_page"] == pytest.approx(((120 + 1900) + 1000) / 2)
    assert cost["thinking_tokens_per_page"] == pytest.approx(((100 + 400) + 300) / 2)
    assert cost["total_seconds"] == pytest.approx(69.0)
    assert cost["thinking_share"] == pytest.approx(800 / 3020)


def test_a_perfect_page_scores_one_everywhere(shop_repo, tmp_path) -> None:
    _, _, repo = shop_repo
    wiki = tmp_path / "wiki"
    wiki.mkdir()
    (wiki / "storage.md").write_text(
        "# Storage\n\n## Overview\n\nOrders on disk.\n\n## Key Components\n\n"
        "- **`OrderStore`** keeps one JSON file per order 📄 [shop/storage.py:11](../shop/storage.py#L11)\n"
        "- `OrderStore.load` reads one back 📄 [shop/storage.py:27](../shop/storage.py#L27)\n\n"
        "## How It Works\n\n`save` writes a temporary file, then renames it.\n"
        "📄 [shop/storage.py:24](../shop/storage.py#L24)\n\n"
        "## Related Documentation\n\n- [Index](./index.md)\n"
    )
    (wiki / "index.md").write_text("# shop\n\n[Storage](storage.md)\n")
    score = score_wiki(wiki, repo).as_dict()
    for key in ("h1", "sections", "refs_resolved", "refs_precise", "ref_coverage", "links"):
        assert score[key] == 1.0, key
    assert score["plan_parses"] is None and score["mermaid_valid"] is None  # not measured


def test_the_heading_names_the_component_when_the_sentence_does_not(shop_repo, tmp_path) -> None:
    _, _, repo = shop_repo
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "p.md").write_text(
        "# P\n\n## Key Components\n\n### `apply_discount`\n\n"
        "It never goes below zero.\n📄 [shop/pricing.py:29](../shop/pricing.py#L29)\n\n"
        "### `tax`\n\nRounded half up.\n📄 [shop/pricing.py:29](../shop/pricing.py#L29)\n"
    )
    s = score_wiki(tmp_path / "w", repo)
    assert s.ratios["refs_precise"] == (1, 2)  # line 29 is in apply_discount (20-29), not tax
    assert any("outside tax 32-34" in p for p in s.problems)


def test_link_rule_follows_semanticwiki() -> None:
    pages = {
        "a.md": "[b](b.md) [b again](./b.md#part) [code](../shop/api.py#L3) "
        "[web](https://example.com/x.md) [gh](github.com/o/r/x.md) [[b]] [[b|Bee]] "
        "[out](../../outside.md) [img](pic.png) [anchor](#b.md)",
        "sub/c.md": "[up](../a.md) [sideways](d.md) [[a]]",
        "b.md": "# B",
    }
    s = score_links(pages)
    # a.md: b.md, ./b.md#part, [[b]], [[b|Bee]] resolve; the rest are not wiki links
    # sub/c.md: ../a.md resolves; d.md -> sub/d.md broken; [[a]] -> sub/a.md broken
    assert s.links == (5, 7)
    assert s.broken_targets == ["sub/d.md", "sub/a.md"]


def test_exchange_errors_name_the_line(tmp_path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"kind": "page", "user": "u", "answer": "a"}\n{"kind": "chat", "user": "u"}\n')
    with pytest.raises(InputError, match=r"x.jsonl:2: kind must be one of plan, page, index"):
        read_exchanges(path)
    path.write_text('{"kind": "page", "user": "u", "tokens": {"completion": -1}}\n')
    with pytest.raises(InputError, match=r"x.jsonl:1: tokens.completion"):
        read_exchanges(path)
    path.write_text("not json\n")
    with pytest.raises(InputError, match=r"x.jsonl:1: not JSON"):
        read_exchanges(path)


def test_missing_wiki_folder_is_an_input_error(shop_repo, tmp_path) -> None:
    with pytest.raises(InputError, match="no such wiki folder"):
        score_wiki(tmp_path / "nope", shop_repo[2])


def test_git_fixture_really_moved_the_working_tree(shop_repo) -> None:
    repo_dir, commit, repo = shop_repo
    assert not repo.exists("shop/late.py") and (repo_dir / "shop/late.py").exists()
    assert git(repo_dir, "rev-parse", "HEAD") == commit
