"""The semanticwiki harness with the real client (SemanticWiki 1.2.1 from ../shared/vendor).

- Bundled mode, as users run the packaged model: the tiny gpt-oss GGUF (random weights, the
  real tokenizer) loaded by the client itself (`--model-path`, one thread, a fixed seed) writes
  the whole wiki of a held-out repository (demo/ledger, committed, then changed in the working
  tree) through the eval stage. Every model call is in the recording (checked against the
  client's own log lines), the pages on disk are the answers, the plan prompt lists the files of
  the pinned commit, and every metric equals a computation of this test's own (planted_wiki:
  `git show`, ast, a separate reference regex, SemanticWiki's link rule restated); planted good
  and bad pages added to that wiki score as they must. A random model never stops, so each page
  is its full 4,096 tokens; the run takes about a minute.
- `wikikit try RUN -r REPO` end to end: the run's packaged GGUF writes a small repository's wiki.
- Served mode: the client asks wikikit's endpoint, which forwards to an OpenAI-compatible server
  on 127.0.0.1 (fine-tuned and base, a judge beside them): every exchange recorded, base vs
  fine-tuned with its difference, CodeWikiBench judged on planted rubrics with a known score.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import model_fixtures
import planted_wiki as planted
import pytest
import semanticwiki_fixtures
from click.testing import CliRunner
from git_fixtures import commit_all, init_repo
from semanticwiki_fixtures import SHOP, shop_teacher
from shared_paths import SEMANTICWIKI_PROMPTS
from teacher_fakes import FakeTeacherServer, last_user_text

from wikikit.bounded import read_jsonl
from wikikit.cli import cli
from wikikit.code.repo import open_repo
from wikikit.errors import WikikitError
from wikikit.eval import stage as evaluate
from wikikit.eval.wiki import score_wiki
from wikikit.eval.wiki.raw import read_client_log
from wikikit.recipe.load import load_recipe
from wikikit.semanticwiki.protocol import CALL_OPTIONS
from wikikit.stage import StageContext

pytestmark = pytest.mark.slow
semanticwiki_client = semanticwiki_fixtures.semanticwiki_client  # the session fixtures
tiny_model = model_fixtures.tiny_model
tiny_gguf = model_fixtures.tiny_gguf

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "demo" / "ledger"
DATA = "  mix: {a: {weight: 1, sources: [s]}}\n  sources: {s: {kind: jsonl, paths: [x.jsonl]}}\n"
# (component heading, the name its sentence gives, path, cited line) in demo/ledger
COMPONENTS = [
    ("Journal", "Journal", "ledger/journal.py", 31),  # the class line: precise
    ("Recording", "Journal.record", "ledger/journal.py", 40),  # inside record: precise
    ("Balances", "balance", "ledger/journal.py", 38),  # record's line: imprecise
    ("Totals", "Transaction.total", "ledger/journal.py", 28),  # precise
    ("Late", "late", "ledger/late.py", 1),  # only in the working tree: unresolved
    ("Beyond", "Journal", "ledger/journal.py", 99),  # journal.py is shorter: unresolved
    ("Signs", "Account.signed", "ledger/accounts.py", 28),  # precise
]
LOG_PAGE = re.compile(r"^\[Local\] generateSinglePage: (?P<title>.*)\n\[Local\]   Type: .*\n"
                      r"\[Local\]   Filename: (?P<file>.*)$", re.M)  # fmt: skip


def _link(src: Path, dest: Path) -> Path:
    """A GGUF inside the recipe's folder (recipes read files below their folder only)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy(src, dest)
    return dest


def _stage(folder: Path, body: str) -> StageContext:
    (folder / "r.yaml").write_text(
        f"wikikit: 1\nname: harness\nseed: 1\nmodel: {{base: tiny}}\n{body}"
    )
    run = folder / "run"
    return StageContext(
        recipe=load_recipe(folder / "r.yaml"),
        stage="eval",
        run_dir=run,
        out_dir=run / "eval",
        cache_dir=run / "cache" / "eval",
    )


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    """demo/ledger at a commit, with a file added in the working tree afterwards."""
    root = tmp_path_factory.mktemp("ledger") / "ledger"
    shutil.copytree(LEDGER, root)
    init_repo(root)
    commit = commit_all(root, "ledger")
    (root / "ledger" / "late.py").write_text("def late():\n    pass\n")
    return root, commit


@pytest.fixture(scope="module")
def bundled(tmp_path_factory, tiny_gguf, semanticwiki_client, ledger):
    """The eval stage's harness on demo/ledger with the tiny GGUF, bundled mode."""
    root, commit = ledger
    folder = tmp_path_factory.mktemp("bundled")
    _link(tiny_gguf, folder / "model.gguf")
    ctx = _stage(
        folder,
        f"data:\n  holdout: [demo/ledger]\n{DATA}eval:\n  harness: semanticwiki\n"
        f"  heldout: {{repos: {{demo/ledger: {{path: {root}, commit: {commit}}}}}}}\n"
        "  semanticwiki: {gguf: model.gguf, threads: 1, seed: 1}\n"
        "  gates: {semanticwiki/h1: 0.5}\n",
    )
    with pytest.raises(WikikitError) as failed:  # one repository: no interval, so no gate holds
        evaluate.run_stage(ctx)
    out = ctx.out_dir / "wikis" / "fine-tuned" / "demo_ledger"
    exchanges = read_jsonl(out / "exchanges.jsonl")
    return SimpleNamespace(ctx=ctx, error=str(failed.value), out=out, root=root, commit=commit,
                           log=(out / "client.log").read_text(), exchanges=exchanges)  # fmt: skip


def test_every_call_of_the_real_client_is_recorded(bundled):
    log, xs = bundled.log, bundled.exchanges
    raw = read_jsonl(bundled.out / "record" / "bundled.jsonl")
    # one row per model call the client made (its bundled provider logs each call)
    assert log.count("[LocalLLM] chat() called") == len(raw) == len(xs) >= 4
    assert [x["kind"] for x in xs][0] == "plan" and xs[-1]["kind"] == "index"
    assert {x["kind"] for x in xs[1:-1]} == {"page"}
    # the prompts are the client's own: the client logs each page prompt's length (in UTF-16
    # units, as JavaScript counts; a page is asked again when its answer is too short)
    asked = [int(n) for n in re.findall(r"User prompt: (\d+) chars", log)]
    pages = [x["user"] for x in xs if x["kind"] == "page"]
    firsts = [u for i, u in enumerate(pages) if i == 0 or pages[i - 1] != u]
    assert asked == [len(u.encode("utf-16-le")) // 2 for u in firsts]
    if SEMANTICWIKI_PROMPTS is not None:  # the system prompts of the captured real run
        for x in xs:
            captured = SEMANTICWIKI_PROMPTS / "skip-index"
            want = next(captured.glob(f"*-{x['kind']}.system.txt")).read_text()
            assert x["system"] == want, x["kind"]
    # the client's own sampling, seeded; a random model runs to each call's limit
    for x in xs:
        want = CALL_OPTIONS[x["kind"]]
        assert x["options"]["max_tokens"] == want["num_predict"]
        assert x["options"]["temperature"] in (want["temperature"], 0.1)  # 0.1: a page retry
        assert x["options"]["seed"] == 1
        assert 0 < x["tokens"]["completion"] <= want["num_predict"]
        assert x["stop_reason"] in ("maxTokens", "eogToken", "stopGenerationTrigger")
    # the plan prompt lists the files of the pinned commit, not the working tree's late.py
    listed = re.findall(r"^(\S+) \(\.\w+, (?:small|medium|large)\)$", xs[0]["user"], re.M)
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", bundled.commit],
                           cwd=bundled.root, capture_output=True, text=True).stdout.split()  # fmt: skip
    assert sorted(listed) == sorted(files) and "ledger/late.py" not in listed
    source = [f for f in files if Path(f).suffix not in (".md", ".txt", ".rst", ".adoc")]
    least = max(5, min(25, math.ceil(len(source) / 8)))  # SemanticWiki's page-count rule
    assert f"**Required pages: {least}-{least + 10}**" in xs[0]["user"]


def test_the_pages_on_disk_are_the_recorded_answers(bundled):
    wiki = bundled.out / "wiki"
    written = {p.name: p.read_bytes().decode() for p in wiki.glob("*.md")}  # \r\n kept
    files = {m["title"]: m["file"] for m in LOG_PAGE.finditer(bundled.log)}
    made = set(re.findall(r"^\[Local\] ✓ Generated(?: missing page)?: (\S+)$", bundled.log, re.M))
    assert made == set(written) and "index.md" in made
    for title, filename in files.items():
        calls = [x for x in bundled.exchanges if x["kind"] == "page" and x["user"].startswith(
            f'# Documentation Task: "{title}"\n')]  # fmt: skip
        assert calls, title
        answer = calls[-1]["answer"]
        if filename in written and not re.search(r"[\w./-]+\.[A-Za-z]+:\d", answer):
            # (the client rewrites `path.ext:N` mentions into references; none here)
            assert written[filename] == answer
        assert (filename in written) == (len(answer) > 200)  # its 200-character rule
    assert written["index.md"] == bundled.exchanges[-1]["answer"]


def test_every_metric_equals_an_independent_computation(bundled):
    scores = json.loads((bundled.out / "scores.json").read_text())["scores"]
    wiki = bundled.out / "wiki"
    pages = {p.name: p.read_text() for p in sorted(wiki.glob("*.md"))}
    xs = bundled.exchanges
    titles = {m["file"]: m["title"] for m in LOG_PAGE.finditer(bundled.log)}
    content = [p for p in pages if p != "index.md"]

    def share(hits, total):
        return hits / total if total else None

    assert scores["plan_parses"] == float(planted.plan_parses(xs[0]["answer"]))
    assert scores["h1"] == share(sum(planted.has_h1(pages[p], titles.get(p)) for p in content),
                                 len(content))  # fmt: skip
    assert scores["sections"] == share(sum(planted.sections(pages[p]) for p in content),
                                       3 * len(content))  # fmt: skip
    assert scores["links"] == share(*planted.links(pages))
    refs = planted.refs(pages)
    resolved = planted.resolved_refs(refs, bundled.root, bundled.commit)
    assert scores["refs_resolved"] == share(len(resolved), len(refs))
    mermaid = sum(text.count("```mermaid") for text in pages.values())
    assert (scores["mermaid_valid"] is None) == (mermaid == 0)
    # cost: per page title, its calls' seconds and generated tokens (thinking included)
    by_title: dict[str, list[dict]] = {}
    for x in xs:
        if x["kind"] == "page":
            by_title.setdefault(x["user"].split('"', 2)[1], []).append(x)
    kept = [c for c in by_title.values() if len(c[-1]["answer"]) > 200]
    assert scores["pages_written"] == len(kept)
    assert scores["page_calls"] == sum(len(c) for c in by_title.values())
    assert scores["retries"] == sum(len(c) - 1 for c in by_title.values())
    assert scores["seconds_per_page"] == pytest.approx(
        sum(sum(x["seconds"] for x in c) for c in kept) / len(kept)
    )
    assert scores["tokens_per_page"] == pytest.approx(
        sum(sum(x["tokens"]["completion"] for x in c) for c in kept) / len(kept)
    )
    # raw: the model's own answers; the log's lines name the pages the client wrote
    assert scores["raw_pages_requested"] == share(len(kept), len(by_title))
    assert scores["raw_plan_accepted"] in (0.0, 1.0)
    written = re.findall(r"^\[Local\] ✓ Generated(?: missing page)?: (.+)$", bundled.log, re.M)
    log = read_client_log(bundled.out / "client.log")
    assert written[-1] == "index.md"  # written last, after the completeness loop
    assert log is not None and sorted(log.first_pass + log.loop) == sorted(written[:-1]) == content


def test_planted_pages_in_the_clients_wiki_score_as_they_must(bundled, tmp_path):
    """The client's wiki plus a planted good page and a planted bad one, scored with the real
    exchanges: each number computed here from first principles."""
    wiki = tmp_path / "wiki"
    shutil.copytree(bundled.out / "wiki", wiki)
    (wiki / "journal.md").write_text(planted.good_page("Journal", ["Ledger"], COMPONENTS))
    (wiki / "broken.md").write_text(planted.BAD_PAGE)
    repo = open_repo(
        {"path": str(bundled.root), "commit": bundled.commit}, tmp_path, tmp_path / "c"
    )
    got = score_wiki(wiki, repo, bundled.out / "exchanges.jsonl")
    pages = {p.name: p.read_text() for p in sorted(wiki.glob("*.md"))}
    refs = planted.refs(pages)
    resolved = planted.resolved_refs(refs, bundled.root, bundled.commit)
    names = {(path, line): name for _, name, path, line in COMPONENTS}
    precise = 0
    for _, path, line in resolved:
        source = "\n".join(planted.at_commit(bundled.root, bundled.commit, path))
        precise += any(a <= line <= b for a, b in planted.def_ranges(source)[names[(path, line)]])
    assert (len(refs), len(resolved), precise) == (7, 5, 4)  # the plant is what we think
    assert got.ratios["refs_resolved"] == (len(resolved), len(refs))
    assert got.ratios["refs_precise"] == (precise, len(resolved))
    assert got.ratios["refs_right"] == (precise, len(refs))
    assert got.ratios["ref_coverage"] == (len(COMPONENTS), len(COMPONENTS) + 1)
    assert got.ratios["mermaid_valid"] == (1, 2)  # one valid block, one cut mid-edge
    assert got.ratios["links"] == planted.links(pages)
    before = score_wiki(bundled.out / "wiki", repo, bundled.out / "exchanges.jsonl")
    h1, n = before.ratios["h1"]
    assert got.ratios["h1"] == (h1 + 1, n + 2)  # journal.md has its H1, broken.md none
    s, m = before.ratios["sections"]
    assert got.ratios["sections"] == (s + 3, m + 6)


def test_results_and_report_show_the_wiki_and_the_gate(bundled):
    out = bundled.ctx.out_dir
    assert "semanticwiki/h1" in bundled.error and "too few for an interval" in bundled.error
    results = json.loads((out / "results.json").read_text())
    (row,) = results["harness"]["repos"]["fine-tuned"]
    assert row["wiki"] == str(bundled.out / "wiki") and row["calls"] == len(bundled.exchanges)
    assert results["intervals"]["semanticwiki"]["tokens_per_page"]["n"] == 1
    assert results["model"]["backend"] == "semanticwiki gguf"
    md = (out / "results.md").read_text()
    assert "| semanticwiki | h1 | 1 |" in md and "FAILED: semanticwiki/h1 >= 0.5" in md
    assert f"`{bundled.out / 'wiki'}`" in md and "bootstrap over 1 repository" in md
    from wikikit.report.page import write_report

    html = write_report(bundled.ctx.run_dir).read_text()
    assert "Wikis the real client wrote" in html and "demo/ledger@" in html


def test_wikikit_try_writes_a_wiki_with_the_runs_packaged_model(tmp_path, tiny_gguf,
                                                               semanticwiki_client):  # fmt: skip
    """Two files at the top: the client plans two pages (overview, getting started)."""
    repo = tmp_path / "calc"
    repo.mkdir()
    (repo / "README.md").write_text("# calc\n\nAdds numbers.\n")
    (repo / "calc.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    init_repo(repo)
    commit_all(repo, "calc")
    run = tmp_path / "runs" / "demo"
    _link(tiny_gguf, run / "package" / "model.gguf")
    result = CliRunner().invoke(
        cli, ["try", str(run), "-r", str(repo), "--threads", "1", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    wiki = run / "try" / "calc" / "wiki"
    pages = sorted(p.name for p in wiki.glob("*.md"))
    assert "index.md" in pages and len(pages) >= 2
    assert f"wiki: {wiki} ({len(pages)} pages" in result.output
    for page in pages:
        assert str(wiki / page) in result.output
    scores = json.loads((run / "try" / "calc" / "scores.json").read_text())
    xs = read_jsonl(run / "try" / "calc" / "exchanges.jsonl")
    assert scores["scores"]["page_calls"] == sum(x["kind"] == "page" for x in xs)
    assert "--model-path" in scores["model"]


# -- served: wikikit's endpoint in front of an OpenAI-compatible server -----------------------

RUBRICS = [
    {"requirements": "Orders", "weight": 2, "sub_tasks": [
        {"requirements": "Explains how orders are stored on disk", "weight": 2},
        {"requirements": "Explains the refund policy", "weight": 1}]},
    {"requirements": "Describes the JSON API", "weight": 1},
]  # fmt: skip


def _worse(text: str) -> str:
    """The base model's page: every reference moved 1,000 lines past its file's end."""
    return re.sub(r"📄 \[([^\]:]+):(\d+)\]\(\.\./([^)#]+)#L(\d+)\)",
                  lambda m: f"📄 [{m[1]}:{int(m[2]) + 1000}](../{m[3]}#L{int(m[4]) + 1000})",
                  text)  # fmt: skip


def test_served_models_base_vs_fine_tuned_and_codewikibench(tmp_path, semanticwiki_client,
                                                            monkeypatch):  # fmt: skip
    def model(api, body):
        answer = shop_teacher(api, body)
        return answer if body["model"] == "tuned" else _worse(answer)

    def judge(api, body):
        crit = re.search(r'Criterion: "(.*?)"', last_user_text(body), re.S)
        score = int(crit is not None and "stored" in crit[1])
        if crit is not None and "refund" in crit[1]:
            return "I cannot tell."  # no verdict: retried, then reported and excluded
        return json.dumps({"criteria": crit[1] if crit else "", "score": score,
                           "reasoning": "planted", "evidence": ""})  # fmt: skip

    monkeypatch.setenv("WIKIKIT_TEST_JUDGE_KEY", "test-key")
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    init_repo(shop)
    commit = commit_all(shop, "shop")
    with FakeTeacherServer(model) as served, FakeTeacherServer(judge) as judges:
        url = served.base_url("openai")
        ctx = _stage(
            tmp_path,
            f"data:\n  holdout: [demo/shop]\n{DATA}eval:\n  harness: semanticwiki\n"
            f"  heldout: {{repos: {{demo/shop: {{path: {shop}, commit: {commit}}}}}}}\n"
            f"  semanticwiki: {{url: '{url}', model_name: tuned,"
            f" base: {{url: '{url}', model_name: base}}}}\n"
            "  compare_base: true\n  judging: {attempts: 2}\n"
            f"  judges: [{{provider: openai, model: judge-x, base_url: '{judges.base_url('openai')}',"
            " api_key: '${WIKIKIT_TEST_JUDGE_KEY}', max_attempts: 1, backoff_base_s: 0.01}]\n",
        )
        rubrics = ctx.run_dir / "data" / "rubrics" / "shop.json"
        rubrics.parent.mkdir(parents=True)
        rubrics.write_text(json.dumps(RUBRICS))
        result = evaluate.run_stage(ctx)
    out = ctx.out_dir
    for label in ("fine-tuned", "base"):
        folder = out / "wikis" / label / "demo_shop"
        requests = read_jsonl(folder / "record" / "requests.jsonl")
        chats = [json.loads(r["body"]) for r in requests if r["path"] == "/api/chat"]
        xs = read_jsonl(folder / "exchanges.jsonl")
        assert [c["messages"][-1]["content"] for c in chats] == [x["user"] for x in xs]
        assert {x["kind"] for x in xs} == {"plan", "page", "index"}
        sent = [b for b in served.log if b["body"]["model"] == ("tuned" if label == "fine-tuned"
                                                                else "base")]  # fmt: skip
        assert len(sent) == len(xs)
        for x, c in zip(xs, chats, strict=True):
            assert x["options"]["max_tokens"] == c["options"]["num_predict"]
            assert x["tokens"]["completion"] == len(x["answer"].split())  # the server's count
        for body in (b["body"] for b in sent):  # a URL of unknown kind: the standard fields
            assert body["top_p"] == 0.95 and "top_k" not in body and "min_p" not in body
        assert (folder / "wiki" / "index.md").is_file()
    results = json.loads((out / "results.json").read_text())
    tuned = results["intervals"]["semanticwiki"]["refs_right"]["value"]
    base = results["base_intervals"]["semanticwiki"]["refs_right"]["value"]
    assert tuned > 0.5 and base == 0.0
    assert results["differences"]["semanticwiki"]["refs_right"]["value"] == pytest.approx(tuned)
    # CodeWikiBench: "stored" 1 (weight 2), refund failed and excluded, API 0 (weight 1):
    # Orders = 1, overall = (2 * 1 + 1 * 0) / 3; upstream would have counted refund as 1
    judged = results["harness"]["codewikibench"]["fine-tuned"]["repos"][0]
    assert judged["score"] == pytest.approx(2 / 3) and judged["errors"] == 1
    assert judged["excluded_leaves"] == 1
    assert results["scores"]["codewikibench"]["codewikibench"] == pytest.approx(2 / 3)
    raw = results["intervals"]["semanticwiki"]["raw_refs_right"]["value"]
    assert result.counts["semanticwiki"] == pytest.approx(raw)  # gates read the raw answers
    md = (out / "results.md").read_text()
    assert "| semanticwiki | **raw_refs_right** | 1 |" in md and "difference" in md
    assert "| fine-tuned | demo/shop@" in md and "| raw answers | files |" in md
    # neither URL is asked as the deployment asks, and both say so beside the scores
    for label in ("fine-tuned", "base"):
        model = results["harness"]["models"][label]
        assert model["deployment_equal"] is False and "unknown kind" in model["deployment_reason"]
        assert results["harness"]["repos"][label][0]["deployment_equal"] is False
        assert f"semanticwiki: {label} model asked as deployed (deployment_equal): no" in md
    assert "| as deployed |" in md
    # one repository outside the benchmark: its CodeWikiBench section names no missing rows
    assert "| demo/shop | other | 0.6667 | " in md and "Not judged" not in md
    assert (
        out / "codewikibench" / "base" / "demo_shop" / "combined_evaluation_results.json"
    ).is_file()
