"""CodeWikiBench judged leaf by leaf against judges served on 127.0.0.1, with planted verdicts.

The main test replays the benchmark's own published judgements: three judges (one per teacher
provider, each through its real SDK) answer every rubric leaf of OpenHands with the verdict that
judge published in ../shared/fixtures/codewikibench, reading sections through the docs_navigator
tool first for half the leaves. Where the published judge failed (`[EVALUATION ERROR]`, an empty
reply) the served judge fails with HTTP 500 on every attempt; where upstream fell back to a
keyword guess (`[AUTOMATIC PARSING FALLBACK]`) it sends the same unusable text upstream got. The
expected score is computed in the test from the published files by its own bottom-up mean.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from teacher_fakes import FakeTeacherServer, last_user_text

from wikikit.eval.codewikibench.bench import Judge, judge_repo
from wikikit.eval.codewikibench.docs import docs_from_pages, load_docs
from wikikit.eval.codewikibench.judge import TOOL, JudgeSettings, judge_docs, teacher_converse
from wikikit.eval.rubrics import load_rubrics
from wikikit.teachers import make_teacher

FIXTURES = Path(__file__).resolve().parents[2] / "shared/fixtures/codewikibench/OpenHands"
JUDGES = {  # the published judge -> the wikikit provider that serves it here
    "gemini-2.5-flash": "ollama",
    "gpt-oss-120b": "openai",
    "kimi-k2-instruct": "anthropic",
}
needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason="shared CodeWikiBench fixtures absent"
)
_CRITERION = re.compile(r'Criterion: "(?P<c>.*?)"\n\n(?:Decide|First find)', re.S)


def leaves(nodes):
    for n in nodes:
        if n.get("sub_tasks"):
            yield from leaves(n["sub_tasks"])
        else:
            yield n


def user_turns(body: dict) -> list[str]:
    out = []
    for m in body.get("messages") or []:
        if m.get("role") == "user":
            c = m.get("content")
            out.append("".join(b.get("text", "") for b in c) if isinstance(c, list) else c)
    return out


def teachers(server: FakeTeacherServer, tmp_path: Path) -> list[Judge]:
    judges = []
    for name, provider in JUDGES.items():
        config = {"provider": provider, "model": name, "base_url": server.base_url(provider),
                  "temperature": 0, "max_attempts": 2, "backoff_base_s": 0.01, "concurrency": 16}  # fmt: skip
        teacher = make_teacher(config, api_key="test-key", cache_path=tmp_path / f"{name}.sqlite")
        judges.append(Judge(name, teacher_converse(teacher)))
    return judges


def expected_score(trees: dict[str, list], failed: set[tuple[str, str]]) -> float:
    """Bottom-up weighted mean of the judges' average per leaf, failed verdicts left out."""

    def value(nodes_by_judge: dict[str, list]) -> list[tuple[float, float | None]]:
        first = next(iter(nodes_by_judge.values()))
        out = []
        for i, node in enumerate(first):
            if node.get("sub_tasks"):
                kids = value({j: t[i]["sub_tasks"] for j, t in nodes_by_judge.items()})
                kept = [(w, v) for w, v in kids if v is not None]
                v = sum(w * x for w, x in kept) / sum(w for w, _ in kept) if kept else None
            else:
                votes = [
                    float(t[i]["score"])
                    for j, t in nodes_by_judge.items()
                    if (j, t[i]["requirements"]) not in failed
                ]
                v = sum(votes) / len(votes) if votes else None
            out.append((float(node["weight"]), v))
        return out

    top = [(w, v) for w, v in value(trees) if v is not None]
    return sum(w * v for w, v in top) / sum(w for w, _ in top)


@needs_fixtures
@pytest.mark.parametrize("system", ["deepwiki", "codewiki"])
def test_published_judgements_replayed_through_served_judges(system: str, tmp_path) -> None:
    folder = FIXTURES / system / "evaluation_results"
    published = {j: load_rubrics(folder / f"{j}.json") for j in JUDGES}
    verdicts = {j: {n["requirements"]: n for n in leaves(t)} for j, t in published.items()}
    kinds = {  # (judge, criterion) -> how the published judge failed
        (j, c): (
            "error" if n["evaluation"]["reasoning"].startswith("[EVALUATION ERROR]") else "bad"
        )
        for j, by_c in verdicts.items()
        for c, n in by_c.items()
        if n["evaluation"]["reasoning"].startswith(("[EVALUATION ERROR]", "[AUTOMATIC PARSING"))
    }
    assert kinds, "the fixture has failed judgements to plant"
    order = list(verdicts["gpt-oss-120b"])
    docs = load_docs(FIXTURES / system)
    tool_results: list[str] = []

    def criterion(body: dict) -> str:
        return _CRITERION.search(user_turns(body)[0])["c"]

    def fault(api: str, body: dict) -> str | None:
        return "500" if kinds.get((body["model"], criterion(body))) == "error" else None

    temperatures: set[float] = set()

    def respond(api: str, body: dict) -> str:
        temperatures.add(body.get("temperature", (body.get("options") or {}).get("temperature")))
        judge, c = body["model"], criterion(body)
        turns = user_turns(body)
        if kinds.get((judge, c)) == "bad":
            # the start of what upstream got (it keeps 500 characters of a reply it could not
            # parse), cut before the first complete object, as the whole reply was unparseable
            return verdicts[judge][c]["evaluation"]["evidence"].split("}")[0]
        if order.index(c) % 2 == 0 and len(turns) == 1:
            return json.dumps({"tool": TOOL, "paths": [["subpages", 1, "content"], ["nope"]]})
        if len(turns) > 1:
            tool_results.append(turns[-1])
        ev = verdicts[judge][c]["evaluation"]
        return "Verdict:\n" + json.dumps(
            {
                "criteria": c,
                "score": ev["score"],
                "reasoning": ev["reasoning"][:200],
                "evidence": ev["evidence"][:200],
            }  # fmt: skip
        )

    rubrics = load_rubrics(FIXTURES / "rubrics" / "combined_rubrics.json")
    settings = JudgeSettings(mode="tool", attempts=2)
    with FakeTeacherServer(respond, fault_fn=fault) as server:
        result = judge_repo("OpenHands", rubrics, docs, teachers(server, tmp_path), settings,
                            tmp_path / "out")  # fmt: skip
        log = list(server.log)

    failed = set(kinds)
    assert result["errors"] == len(failed)
    for judge in JUDGES:
        mine = {(j, c) for j, c in failed if j == judge}
        assert result["judges"][judge]["errors"] == len(mine)
        assert {
            e["requirement"].split(" > ")[-1] for e in result["judges"][judge]["failed_leaves"]
        } == {c for _, c in mine}
        assert result["judges"][judge]["judged"] == 67 - len(mine)
    assert result["score"] == pytest.approx(expected_score(published, failed), abs=1e-12)
    # upstream's rule scores a failed leaf 1; with that rule the score moves by a known amount
    as_one = {
        j: [dict(n) for n in t] for j, t in json.loads(json.dumps(published)).items()
    }  # deep copy
    for j, tree in as_one.items():
        for n in leaves(tree):
            if (j, n["requirements"]) in failed:
                n["score"] = 1
    assert result["score_if_errors_passed"] == pytest.approx(expected_score(as_one, set()))
    if system == "deepwiki":  # its one failed leaf was scored 1 upstream: the published number
        reference = json.loads((folder / "combined_evaluation_results.json").read_text())
        assert result["score_if_errors_passed"] == pytest.approx(
            reference["combination_metadata"]["overall_score"], abs=1e-12
        )
        assert round(result["score_if_errors_passed"], 4) == 0.7304
    # the tool answered with the real structured_docs text, and said what it could not find
    page = docs.structured["subpages"][1]["content"]
    first_heading = next(iter(page))
    assert tool_results and all(first_heading in r for r in tool_results)
    assert all("nothing at this path" in r for r in tool_results)
    # a failed leaf is asked twice by the judge loop, each time twice by the teacher on a 500
    n500 = sum(1 for r in log if r["fault"] == "500")
    assert n500 == 2 * 2 * sum(1 for k in kinds.values() if k == "error")
    # temperature 0 went out on the wire, through each provider's own field
    assert temperatures == {0}
    # files in CodeWikiBench's layout
    combined = json.loads((tmp_path / "out/OpenHands/combined_evaluation_results.json").read_text())
    assert combined["combination_metadata"]["overall_score"] == pytest.approx(result["score"])
    assert (tmp_path / "out/OpenHands/gpt-oss-120b.json").is_file()


WIKI = {
    "index.md": "# shop\n\n- [Pricing](./pricing.md)\n",
    "pricing.md": "# Pricing\n\nAll amounts are integer cents.\n\n## Key Components\n\n"
    "### `quote`\n\nSubtotal, discount and tax 📄 [shop/pricing.py:37](../shop/pricing.py#L37)\n\n"
    "## How It Works\n\nDiscount codes HALF and TENOFF.\n",
}
TREE = [
    {"requirements": "Pricing", "weight": 3, "sub_tasks": [
        {"requirements": "discount codes", "weight": 2},
        {"requirements": "sales tax", "weight": 1},
        {"requirements": "refunds", "weight": 1},
    ]},
    {"requirements": "Storage", "weight": 1, "sub_tasks": [
        {"requirements": "atomic writes", "weight": 1},
        {"requirements": "order ids", "weight": 1},
    ]},
]  # fmt: skip


def _small_judge(tmp_path, respond, fault_fn=None, provider="openai"):
    server = FakeTeacherServer(respond, fault_fn=fault_fn).__enter__()
    config = {"provider": provider, "model": "judge", "base_url": server.base_url(provider),
              "temperature": 0, "max_attempts": 1, "backoff_base_s": 0.01}  # fmt: skip
    teacher = make_teacher(config, api_key="k", cache_path=tmp_path / "judge.sqlite")
    return server, teacher_converse(teacher)


def test_errors_and_malformed_verdicts_are_retried_then_excluded(tmp_path) -> None:
    docs = docs_from_pages("shop", WIKI)
    seen: dict[str, int] = {}

    def respond(api, body):
        c = _CRITERION.search(user_turns(body)[0])["c"]
        seen[c] = seen.get(c, 0) + 1
        if c == "discount codes":  # reads the page first, then passes
            if len(user_turns(body)) == 1:
                return json.dumps(
                    {"tool": TOOL, "paths": [["subpages", 1, "content", "How It Works"]]}
                )
            assert "HALF and TENOFF" in user_turns(body)[-1]
            return '{"criteria": "discount codes", "score": 1, "reasoning": "named", "evidence": "HALF"}'
        if c == "sales tax":  # malformed once, then a verdict
            return (
                "I think so." if seen[c] == 1 else '{"score": 1, "reasoning": "", "evidence": ""}'
            )
        if c == "refunds":  # never a usable verdict: a score of 2, then a boolean
            return '{"score": 2}' if seen[c] == 1 else '{"score": true}'
        if c == "atomic writes":  # keeps calling the tool
            return json.dumps({"tool": TOOL, "paths": [["subpages", 0]]})
        return '{"score": 0, "reasoning": "not there", "evidence": ""}'

    def fault(api, body):  # order ids: the judge server fails on the first attempt only
        c = _CRITERION.search(user_turns(body)[0])["c"]
        return "500" if c == "order ids" and "Attempt 2" not in user_turns(body)[0] else None

    server, converse = _small_judge(tmp_path, respond, fault)
    try:
        run = judge_docs(TREE, docs, converse, JudgeSettings(attempts=2, max_tool_calls=2))
    finally:
        server.__exit__(None, None, None)
    assert run.mode == "tool"
    assert run.judged == 3 and len(run.errors) == 2
    assert {e["requirement"] for e in run.errors} == {
        "Pricing > refunds",
        "Storage > atomic writes",
    }
    assert "no verdict after 2 tool calls" in next(
        e["error"] for e in run.errors if e["requirement"].endswith("atomic writes")
    )
    # Pricing = (2*1 + 1*1) / 3 (refunds excluded); Storage = order ids 0 (atomic excluded)
    assert run.score == pytest.approx((3 * 1.0 + 1 * 0.0) / 4)
    assert run.retried == 4  # every leaf but discount codes needed a second attempt
    assert seen["refunds"] == 2 and seen["atomic writes"] == 2 * 3


def test_whole_wiki_mode_sends_every_page_and_no_tool(tmp_path) -> None:
    docs = docs_from_pages("shop", WIKI)
    systems: list[str] = []

    def respond(api, body):
        systems.append(json.dumps(body))
        text = user_turns(body)[0]
        assert "Discount codes HALF and TENOFF." in text and "<detail_content>" not in text
        hit = any(w in text.split("Documentation:", 1)[1].lower() for w in ("discount", "tax"))
        c = _CRITERION.search(text)["c"]
        return json.dumps({"score": int(hit and c in ("discount codes", "sales tax"))})

    server, converse = _small_judge(tmp_path, respond, provider="anthropic")
    try:
        settings = JudgeSettings(mode="auto", context_tokens=50_000)
        run = judge_docs(TREE, docs, converse, settings)
    finally:
        server.__exit__(None, None, None)
    assert run.mode == "whole" and run.errors == [] and run.tool_calls == 0
    assert all(TOOL not in s for s in systems)
    assert run.score == pytest.approx((3 * (3 / 4) + 0) / 4)
    assert JudgeSettings(mode="auto", context_tokens=100).mode_for(docs) == "tool"


def test_judge_settings_errors() -> None:
    with pytest.raises(Exception, match="eval.judging: unknown key"):
        JudgeSettings.from_config({"mode": "tool", "bogus": 1})
    with pytest.raises(Exception, match="context_tokens: required"):
        JudgeSettings.from_config({"mode": "auto"})


def test_docs_from_a_semanticwiki_wiki_keep_every_text() -> None:
    docs = docs_from_pages("shop", WIKI)
    assert [p["title"] for p in docs.tree["subpages"]] == ["shop", "Pricing"]
    assert docs.tree["subpages"][1]["path"] == '["subpages", 1]'
    content = docs.structured["subpages"][1]["content"]
    assert content["(text)"] == "All amounts are integer cents."
    assert content["Key Components"]["`quote`"].startswith("Subtotal, discount and tax")
    assert docs.tree["subpages"][1]["content"]["Key Components"] == {"`quote`": "<detail_content>"}
    assert last_user_text({"messages": []}) == ""


def test_judge_loop_retries_then_reports_without_a_server() -> None:
    """The judge loop alone, on a Converse that fails in scripted ways (no HTTP)."""
    calls: dict[str, int] = {}

    def converse(batch):
        out = []
        for system, turns, shared in batch:
            assert turns[0][1].startswith(shared) and shared.startswith("Documentation tree:")
            assert system.startswith("You evaluate software documentation")
            c = _CRITERION.search(turns[0][1])["c"]
            calls[c] = calls.get(c, 0) + 1
            if c == "discount codes":  # flaky: garbage first, then a verdict
                out.append(
                    "not json"
                    if calls[c] == 1
                    else '{"score": 1, "reasoning": "r", "evidence": "e"}'
                )
            elif c == "sales tax":  # the transport always fails
                out.append(ConnectionError("judge down"))
            else:
                out.append('{"score": 0, "reasoning": "missing", "evidence": ""}')
        return out

    run = judge_docs(TREE[:1], docs_from_pages("shop", WIKI), converse, JudgeSettings(attempts=3))
    assert calls == {"discount codes": 2, "sales tax": 3, "refunds": 1}
    assert run.judged == 2 and [e["requirement"] for e in run.errors] == ["Pricing > sales tax"]
    assert "ConnectionError: judge down" in run.errors[0]["error"]
    leaf = run.rubrics[0]["sub_tasks"][0]
    assert leaf["evaluation"] == {"score": 1, "reasoning": "r", "evidence": "e", "attempts": 2,
                                  "tool_calls": 0}  # fmt: skip
    assert run.rubrics[0]["sub_tasks"][1]["score"] is None
    # Pricing = (2*1 + 1*0) / 3 with sales tax excluded
    assert run.score == pytest.approx(2 / 3)


def test_heldout_repos_judged_from_the_data_stage_rubrics(tmp_path) -> None:
    from wikikit.code.holdout import Holdout
    from wikikit.eval.codewikibench.bench import heldout_rubrics, judge_heldout

    rubrics_dir = tmp_path / "data" / "rubrics"
    rubrics_dir.mkdir(parents=True)
    for name in ("acme__shop", "acme__ledger", "trained__repo"):
        (rubrics_dir / f"{name}.json").write_text(json.dumps({"rubrics": TREE}))
    found = heldout_rubrics(rubrics_dir, Holdout(["acme/shop", "ledger"]))
    assert sorted(found) == ["acme/ledger", "acme/shop"]
    wikis = {
        "acme/shop": (found["acme/shop"], docs_from_pages("acme/shop", WIKI)),
        "acme/ledger": (
            found["acme/ledger"],
            docs_from_pages("acme/ledger", {"index.md": "# x\n"}),
        ),
    }

    def respond(api, body):  # passes a leaf when the wiki text it reads names the criterion
        text = json.dumps(body["messages"]).lower()
        c = _CRITERION.search(user_turns(body)[0])["c"]
        if len(user_turns(body)) == 1:
            return json.dumps(
                {"tool": TOOL, "paths": [["subpages", 0, "content"], ["subpages", 1, "content"]]}
            )
        return json.dumps({"score": int(c.split()[-1] in text.split(TOOL + " result", 1)[-1])})

    server, converse = _small_judge(tmp_path, respond)
    try:
        summary = judge_heldout(wikis, [Judge("j", converse)], JudgeSettings(), tmp_path / "out")
    finally:
        server.__exit__(None, None, None)
    by_repo = {r["repo"]: r for r in summary["repos"]}
    # shop's wiki names discount codes and tax (Pricing = 3/4 of it), the ledger's nothing
    assert by_repo["acme/shop"]["score"] == pytest.approx((3 * 0.75 + 0) / 4)
    assert by_repo["acme/ledger"]["score"] == 0.0
    assert summary["score"]["n"] == 2 and summary["score"]["value"] == pytest.approx(0.5625 / 2)
    assert "scores a leaf whose evaluation failed as 1" in summary["error_rule"]
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["errors"] == 0
    assert (tmp_path / "out" / "acme_shop" / "combined_evaluation_results.json").is_file()
