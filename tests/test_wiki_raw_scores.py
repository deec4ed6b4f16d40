"""Raw-answer scores (wikikit.eval.wiki.raw) beside the file scores, on planted wikis.

Each model below fails in one way SemanticWiki 1.2.1 hides when it writes the files: pages
dropped (answers of 200 characters or fewer, retried once), answers cut at the token limit, a
plan without `type` (discarded whole for the client's pattern plan), references the client
rewrote into its 📄 form, links its completeness loop made resolve. The wiki on disk is what
the client would write from those answers; the file scores must stay what they were, the raw
scores must show the failure. Expected values are computed here, with this module's and
planted_wiki's own regexes and Python's ast, never by calling the code under test.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import planted_wiki as planted
import pytest
from git_fixtures import commit_all, init_repo

from wikikit.code.repo import open_repo
from wikikit.eval.wiki import score_wiki
from wikikit.semanticwiki import protocol

SHOP = Path(__file__).resolve().parents[1] / "demo" / "shop"
PLAN_USER = (
    f"{protocol.PLAN_OPENING}\n\n## Project Statistics\n- Total source files: 9\n"
    "- **Required pages: 5-15** (based on project size)\n\n## Project Files\n"
    "shop/storage.py (.py, small)\nshop/pricing.py (.py, medium)\nREADME.md (.md, small)\n\n"
    "## Task\nCreate a documentation plan.\n"
)
# (the name a sentence gives, path, line): each inside that definition at the commit
CITED = [("OrderStore", "shop/storage.py", 11), ("line_total", "shop/pricing.py", 16)]
# the client's own rewrite, restated (makeSourceReferencesClickable, dist/wiki-agent.js:2059)
SEE = re.compile(r"(?:See:?\s*)`?([a-zA-Z0-9_\-./]+\.[a-zA-Z]+):(\d+)`?")
SEE_REF = re.compile(r"See: ([\w/.]+\.py):(\d+)")


def client_rewrite(text: str) -> str:
    return SEE.sub(lambda m: f"📄 [{m[1]}:{m[2]}](../{m[1]}#L{m[2]})", text)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("shop")
    shutil.copytree(SHOP, root / "repo")
    init_repo(root / "repo")
    commit = commit_all(root / "repo", "shop")
    return root / "repo", commit, open_repo({"path": str(root / "repo"), "commit": commit}, root, root / "cache")  # fmt: skip


def page(title: str, see: bool = False, links: tuple[str, ...] = ()) -> str:
    """A page with every section; its references in the asked 📄 form, or as `See: path:line`."""
    parts = [f"# {title}", "", "## Overview", "", "What this part of the shop does.", ""]
    parts += ["## Key Components", ""]
    for name, path, line in CITED:
        ref = f"See: {path}:{line}" if see else f"📄 [{path}:{line}](../{path}#L{line})"
        parts += [f"### {name}", "", f"The `{name}` code does its job, {ref}.", ""]
    parts += ["## How It Works", "", "```mermaid", "flowchart TD", "  A[cart] --> B[order]", "```"]
    parts += ["", "## Related Documentation", ""] + [f"- [{x}](./{x}.md)" for x in links]
    return "\n".join(parts) + "\n"


def plan(*pages: dict) -> str:
    return json.dumps({"projectType": "Python shop", "pages": list(pages)})


STORAGE = {"title": "Storage", "filename": "storage.md", "type": "component",
           "context": "orders", "files": ["shop/storage.py"]}  # fmt: skip
PRICING = {"title": "Pricing", "filename": "pricing", "type": "module",
           "context": "prices", "files": ["shop/pricing.py"]}  # fmt: skip


def call(kind: str, title_or_user: str, answer: str, stop: str | None = "eogToken", **extra):
    user = f'# Documentation Task: "{title_or_user}"\n\n...' if kind == "page" else title_or_user
    return {"kind": kind, "user": user, "answer": answer, "stop_reason": stop, **extra}


def write(tmp: Path, calls: list[dict], disk: dict[str, str], log: list[str]) -> tuple[Path, Path, Path]:  # fmt: skip
    wiki = tmp / "wiki"
    wiki.mkdir()
    for name, text in disk.items():
        (wiki / name).write_text(text, encoding="utf-8")
    xs = tmp / "exchanges.jsonl"
    xs.write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    client_log = tmp / "client.log"
    client_log.write_text("".join(line + "\n" for line in log), encoding="utf-8")
    return wiki, xs, client_log


def file_scores(pages: dict[str, str], repo_dir: Path, commit: str) -> dict[str, tuple]:
    """What the file scores were before raw scores existed, restated independently."""
    refs = planted.refs(pages)
    resolved = planted.resolved_refs(refs, repo_dir, commit)
    names = {(path, line): name for name, path, line in CITED}
    precise = 0
    for _, path, line in resolved:
        ranges = planted.def_ranges("\n".join(planted.at_commit(repo_dir, commit, path)))
        precise += any(a <= line <= b for a, b in ranges[names[(path, line)]])
    content = {p: t for p, t in pages.items() if p != "index.md"}
    return {
        "refs_resolved": (len(resolved), len(refs)),
        "refs_right": (precise, len(refs)),
        "links": planted.links(pages),
        "h1": (sum(planted.has_h1(t, None) for t in content.values()), len(content)),
    }


def assert_files(score, disk, shop) -> None:
    repo_dir, commit, _ = shop
    for name, value in file_scores(disk, repo_dir, commit).items():
        assert score.ratios[name] == value, name


def test_a_model_that_does_everything_scores_the_same_raw_and_on_disk(shop, tmp_path):
    storage, pricing = page("Storage", links=("pricing",)), page("Pricing")
    calls = [call("plan", PLAN_USER, plan(STORAGE, PRICING)),
             call("page", "Storage", storage), call("page", "Pricing", pricing)]  # fmt: skip
    disk = {"storage.md": storage, "pricing.md": pricing}
    log = ["[Local] ✓ Generated: storage.md", "[Local] ✓ Generated: pricing.md"]
    wiki, xs, client_log = write(tmp_path, calls, disk, log)
    score = score_wiki(wiki, shop[2], xs, log=client_log)
    assert_files(score, disk, shop)
    r = score.ratios
    assert r["raw_plan_accepted"] == (1, 1) and r["plan_parses"] == (1, 1)
    assert r["raw_pages_planned"] == (2, 2) and r["raw_pages_requested"] == (2, 2)
    assert r["raw_truncated"] == (0, 3)
    n = len(planted.REF_RE.findall(storage + pricing))
    assert r["raw_refs_form"] == (n, n) and r["raw_refs_right"] == r["refs_right"] == (n, n)
    assert r["raw_links"] == r["links"] == (1, 1)
    assert r["raw_mermaid_valid"] == r["mermaid_valid"] == (2, 2)


def test_dropped_pages_count_against_the_raw_shares_only(shop, tmp_path):
    storage = page("Storage")
    short = "Pricing: prices."  # 16 characters, twice: the client drops the page
    calls = [call("plan", PLAN_USER, plan(STORAGE, PRICING)), call("page", "Storage", storage),
             call("page", "Pricing", short), call("page", "Pricing", short)]  # fmt: skip
    disk = {"storage.md": storage}  # no pricing.md: every file share ignores it
    wiki, xs, log = write(tmp_path, calls, disk, ["[Local] ✓ Generated: storage.md"])
    score = score_wiki(wiki, shop[2], xs, log=log)
    assert_files(score, disk, shop)
    assert score.ratios["h1"] == (1, 1)  # the file score sees a perfect wiki
    titles = [p["title"] for p in (STORAGE, PRICING)]
    last = {c["user"].split('"')[1]: c["answer"] for c in calls if c["kind"] == "page"}
    written = [t for t in titles if len(last[t]) > 200]
    assert written == ["Storage"]
    assert score.ratios["raw_pages_planned"] == (len(written), len(titles))
    assert score.ratios["raw_pages_requested"] == (len(written), len(last))
    assert any("'Pricing' dropped" in p for p in score.problems)


def test_answers_cut_at_the_token_limit_are_counted(shop, tmp_path):
    storage, pricing = page("Storage"), page("Pricing")
    calls = [
        call("plan", PLAN_USER, plan(STORAGE, PRICING), "eogToken"),
        call("page", "Storage", storage, "maxTokens"),  # node-llama-cpp's word
        call("page", "Pricing", pricing, "length"),  # an OpenAI-style server's
        # no stop_reason: the completion reached the call's max_tokens
        call("index", protocol.INDEX_OPENING, "# Index\n", None,
             options={"max_tokens": 2048}, tokens={"completion": 2048}),
        call("page", "Extra", page("Extra"), None),  # no word on how it ended: not counted
    ]  # fmt: skip
    disk = {"storage.md": storage, "pricing.md": pricing, "extra.md": page("Extra")}
    wiki, xs, log = write(tmp_path, calls, disk, [])
    score = score_wiki(wiki, shop[2], xs, log=log)
    assert_files(score, disk, shop)
    ends = [c["stop_reason"] for c in calls]
    cut = sum(s in ("maxTokens", "length") for s in ends) + 1  # + the index at its limit
    known = sum(s is not None for s in ends) + 1
    assert (cut, known) == (3, 4)
    assert score.ratios["raw_truncated"] == (cut, known)


def test_a_plan_without_type_is_discarded_and_scores_nothing(shop, tmp_path):
    untyped = {k: v for k, v in STORAGE.items() if k != "type"}
    answer = plan(untyped, PRICING)
    # the client's pattern plan wrote other pages (architecture.md, getting-started.md)
    arch, start = page("Architecture Overview"), page("Getting Started")
    calls = [call("plan", PLAN_USER, answer), call("page", "Architecture Overview", arch),
             call("page", "Getting Started", start)]  # fmt: skip
    disk = {"architecture.md": arch, "getting-started.md": start}
    log = ["[Local] ✓ Generated: architecture.md", "[Local] ✓ Generated: getting-started.md"]
    wiki, xs, client_log = write(tmp_path, calls, disk, log)
    score = score_wiki(wiki, shop[2], xs, log=client_log)
    assert_files(score, disk, shop)
    assert planted.plan_parses(answer)  # the JSON parses...
    assert score.ratios["plan_parses"] == (0, 1)  # ...but the client throws it away
    assert score.ratios["raw_plan_accepted"] == (0, 1)
    assert score.ratios["raw_pages_planned"] == (0, len(json.loads(answer)["pages"]))
    assert score.ratios["raw_pages_requested"] == (2, 2)  # the pattern pages were written
    assert any("no `type` string" in p for p in score.problems)


def test_references_the_client_rewrote_are_not_the_models(shop, tmp_path):
    raw = page("Storage", see=True)
    on_disk = client_rewrite(raw)
    assert raw != on_disk and not planted.REF_RE.search(raw)
    calls = [call("plan", PLAN_USER, plan(STORAGE)), call("page", "Storage", raw)]
    disk = {"storage.md": on_disk}
    wiki, xs, log = write(tmp_path, calls, disk, ["[Local] ✓ Generated: storage.md"])
    score = score_wiki(wiki, shop[2], xs, log=log)
    assert_files(score, disk, shop)
    n_file = len(planted.REF_RE.findall(on_disk))
    assert score.ratios["refs_right"] == (n_file, n_file)  # the rewriting earns full marks
    n_raw = len(SEE_REF.findall(raw)) + len(planted.REF_RE.findall(raw))
    assert n_raw == n_file == len(CITED)
    assert score.ratios["raw_refs_form"] == (len(planted.REF_RE.findall(raw)), n_raw)
    assert score.ratios["raw_refs_right"] == (0, n_raw)
    # the model's references still point at the right lines: that much is its own
    assert score.ratios["raw_refs_resolved"] == (n_raw, n_raw)


def test_links_the_completeness_loop_made_resolve_are_broken_in_the_raw_answers(shop, tmp_path):
    storage = page("Storage", links=("refunds", "pricing", "index"))
    pricing, refunds = page("Pricing"), page("Refunds")
    calls = [call("plan", PLAN_USER, plan(STORAGE, PRICING)), call("page", "Storage", storage),
             call("page", "Pricing", pricing), call("page", "Refunds", refunds)]  # fmt: skip
    disk = {"storage.md": storage, "pricing.md": pricing, "refunds.md": refunds}
    disk["index.md"] = "# shop\n\n- [Storage](./storage.md)\n"
    log = ["[Local] ✓ Generated: storage.md", "[Local] ✓ Generated: pricing.md",
           "[Local] Verification #1: 2 pages, 1 broken links",
           "[Local] ✓ Generated missing page: refunds.md",
           "[Local] ✓ Generated: index.md"]  # fmt: skip
    wiki, xs, client_log = write(tmp_path, calls, disk, log)
    score = score_wiki(wiki, shop[2], xs, log=client_log)
    assert_files(score, disk, shop)
    # on disk every link resolves: the loop wrote refunds.md, the index came last
    assert score.ratios["links"] == planted.links(disk) == (4, 4)
    first_pass = {"storage.md": storage, "pricing.md": pricing}
    assert score.ratios["raw_links"] == planted.links(first_pass) == (1, 3)


def test_results_md_shows_the_raw_column_beside_the_files(shop, tmp_path):
    from wikikit.eval.results import raw_files_table

    raw = page("Storage", see=True)
    calls = [call("plan", PLAN_USER, plan(untyped := {k: v for k, v in STORAGE.items() if k != "type"})),
             call("page", "Storage", raw)]  # fmt: skip
    assert "type" not in untyped
    wiki, xs, log = write(tmp_path, calls, {"storage.md": client_rewrite(raw)}, [])
    score = score_wiki(wiki, shop[2], xs, log=log)
    row = {"repo": "demo/shop", "scores": score.as_dict()}
    table = raw_files_table({"fine-tuned": [row]})
    assert "| model | repo | score | raw answers | files |" in table
    assert "| fine-tuned | demo/shop | references right | 0.00 | 1.00 |" in table
    assert "| fine-tuned | demo/shop | plan kept by the client | 0.00 | 0.00 |" in table
    assert "| fine-tuned | demo/shop | references in the asked 📄 form | 0.00 |  |" in table


def test_the_reports_wiki_table_shows_raw_beside_files():
    from wikikit.report.eval_section import _wikis

    scores = {"raw_refs_right": 0.25, "refs_right": 1.0, "raw_links": 0.5, "links": 1.0}
    harness = {
        "client": "1.2.1",
        "repos": {"fine-tuned": [{"repo": "demo/shop", "scores": scores}]},
    }
    html = str(_wikis(harness))
    heads = re.findall(r"<th[^>]*>(.*?)</th>", html)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html)
    assert heads[6:12] == ["refs right raw", "refs right files", "mermaid raw", "mermaid files",
                           "links raw", "links files"]  # fmt: skip
    assert cells[6:12] == ["0.25", "1.00", "", "", "0.50", "1.00"]
