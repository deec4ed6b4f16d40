"""Answerers behind the endpoint: a reference wiki replayed, a teacher deferred and settled,
a served model asked with the client's own options."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from teacher_fakes import FakeTeacherServer, last_user_text

from wikikit.bounded import read_jsonl
from wikikit.code.refs import parse_refs, verify_ref
from wikikit.code.repo import Repo
from wikikit.deepwiki.page import parse_page
from wikikit.deepwiki.wiki import Wiki
from wikikit.semanticwiki import convert, protocol
from wikikit.semanticwiki.answerers import (
    ModelAnswerer,
    ReplayAnswerer,
    TeacherAnswerer,
    TeacherBatch,
    split_harmony,
)
from wikikit.semanticwiki.endpoint import ChatRequest
from wikikit.teachers import TeacherError, make_teacher

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "demo" / "shop"
PAGES = ROOT / "demo" / "deepwiki-site" / "demo" / "shop"
LISTED = sorted(p.relative_to(SHOP).as_posix() for p in SHOP.rglob("*.py")) + ["README.md"]


def demo_wiki() -> Wiki:
    files = sorted(PAGES.glob("[1-6]-*.md"), key=lambda p: int(p.name.split("-")[0]))
    return Wiki("demo/shop", [parse_page(p.read_text(encoding="utf-8"), url=p.stem) for p in files])


def request(user: str, system: str = "sys", **options) -> ChatRequest:
    body = {
        "model": "wikikit",
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "options": options or {"num_predict": 4096, "temperature": 0.3},
        "stream": False,
    }
    return ChatRequest.parse(json.dumps(body))


def plan_prompt(files: list[str]) -> str:
    listing = "\n".join(f"{f} (.py, small)" for f in files)
    return f"{protocol.PLAN_OPENING}\n\n## Project Files\n{listing}\n\n## Task\nPlan.\n"


def page_prompt(title: str, related: list[tuple[str, str]]) -> str:
    links = "\n".join(f"- [{t}](./{f})" for t, f in related) or "none"
    return (
        f'# Documentation Task: "{title}"\n\nYou are documenting a component for a software '
        "project. Based on the source code below, write comprehensive technical documentation."
        "\n\n## Source Code Context\nNo source code available\n\n## Documentation Requirements\n\n"
        f"### 4. Related Documentation\nLink to these related pages:\n{links}\n\n## Important Rules\n"
    )


def test_replay_plan_is_the_wiki_page_list_in_the_json_asked_for():
    answerer = ReplayAnswerer(demo_wiki())
    answer = answerer.answer(request(plan_prompt(LISTED)))
    pages = protocol.plan_pages(answer.content)
    assert [p["title"] for p in pages] == [
        "Overview", "Catalog and Pricing", "Shopping Cart", "Checkout and Orders",
        "Inventory and Payments", "JSON API",
    ]  # fmt: skip
    assert pages[0]["type"] == "overview" and all(p["type"] in protocol.PAGE_TYPES for p in pages)
    assert len({p["filename"] for p in pages}) == 6 and pages[2]["filename"] == "shopping-cart.md"
    for page in pages:  # files: the page's sources the client listed, nothing else
        assert page["files"] and set(page["files"]) <= set(LISTED), page
    assert "shop/cart.py" in pages[2]["files"]
    assert json.loads(answer.content)["projectType"].startswith("Python project: ")
    # A file the client did not list never reaches the plan.
    unlisted = ReplayAnswerer(demo_wiki()).answer(request(plan_prompt(["shop/api.py"])))
    assert {f for p in protocol.plan_pages(unlisted.content) for f in p["files"]} <= {"shop/api.py"}


def test_replay_page_in_local_mode_conventions():
    answerer = ReplayAnswerer(demo_wiki())
    answerer.answer(request(plan_prompt(LISTED)))
    related = [("Overview", "overview.md"), ("JSON API", "json-api.md")]
    text = answerer.answer(request(page_prompt("Checkout and Orders", related))).content
    assert protocol.page_has_title(text, "Checkout and Orders")
    assert text.count("\n# ") == 0  # one H1
    refs = parse_refs(text, include_unranged=True)
    assert refs and all(r.form == "local" for r in refs), refs
    repo = Repo(SHOP, "demo/shop")
    assert all(verify_ref(repo, r.path, r.start, r.end) is None for r in refs)
    assert "]()" not in text and "```mermaid" in text  # DeepWiki refs gone, diagrams kept
    assert text.rstrip().endswith("- [Overview](./overview.md)\n- [JSON API](./json-api.md)")
    # A page title the wiki does not have, and the index, are declined with an empty answer.
    missing = answerer.answer(request(page_prompt("Getting Started", [])))
    index = answerer.answer(request(f"{protocol.INDEX_OPENING}\n\nProject: shop\n"))
    assert missing.content == index.content == "" and missing.meta["declined"]


def test_page_conversion_rewrites_refs_and_wiki_links():
    page = parse_page(
        "3-Agent System\n# Page: Agent System\n\n# Agent System\n\nSee [LLM](#4) and [Gone](#9).\n\n"
        "## Loop\n\nRuns steps. Sources: [a/loop.py:10-20](), [a/b.py:7]() and [a/c.py]()\n\n"
        "```python\nx = '[a/loop.py:1-2]()'\n```\n"
    )
    other = parse_page("4-LLM\n# Page: LLM\n\n# LLM\n\nText.\n")
    planned = convert.plan([page, other], ["a/loop.py", "a/b.py"])
    text = convert.page_answer(planned[0], planned, [])
    assert text.startswith("# Agent System\n\nSee [LLM](./llm.md) and Gone.")
    assert "📄 [a/loop.py:10](../a/loop.py#L10), 📄 [a/b.py:7](../a/b.py#L7) and `a/c.py`" in text
    assert "x = '[a/loop.py:1-2]()'" in text  # code is code
    assert planned[0].files == ["a/loop.py", "a/b.py"] and planned[1].type == "component"


def test_teacher_defers_holds_and_settles(tmp_path):
    answers = {"plan": '{"projectType": "x", "pages": []}', "page": "# P\n\n" + "text " * 60}

    def responder(api, body):
        return answers[protocol.call_kind(last_user_text(body)) or "page"]

    with FakeTeacherServer(responder) as server:
        config = {"provider": "openai", "model": "teacher-x", "base_url": server.base_url("openai")}
        cache = tmp_path / "teacher.sqlite"
        batch = TeacherBatch(
            make_teacher({**config, "offline": True}, api_key=None, cache_path=cache),
            make_teacher(config, api_key="sk-test", cache_path=cache),
        )
        plan = request(plan_prompt(["a.py"]))
        page = request(page_prompt("P", []))
        first = TeacherAnswerer(batch)
        assert first.answer(plan) is None  # deferred: not in the cache yet
        assert first.answer(page).meta == {"held": True}  # a later phase than the deferred one
        assert len(server.log) == 0 and len(batch.pending) == 1
        assert batch.settle() == 1 and len(server.log) == 1
        second = TeacherAnswerer(batch)
        assert second.answer(plan).content == answers["plan"]  # from the cache now
        assert second.answer(page) is None  # deferred in its turn
        assert batch.settle() == 1 and len(server.log) == 2
        assert TeacherAnswerer(batch).answer(page).content == answers["page"]
        stats = batch.stats()
        assert stats["api_calls"] == 2 and stats["cache_hits"] == 2
        batch.close()


def test_teacher_failures_are_not_asked_twice_and_offline_never_sends(tmp_path):
    with FakeTeacherServer(faults={"# Documentation": ["400"]}) as server:
        config = {"provider": "openai", "model": "teacher-x", "base_url": server.base_url("openai")}
        cache = tmp_path / "teacher.sqlite"
        batch = TeacherBatch(
            make_teacher({**config, "offline": True}, api_key=None, cache_path=cache),
            make_teacher(config, api_key="sk-test", cache_path=cache),
        )
        page = request(page_prompt("P", []))
        assert TeacherAnswerer(batch).answer(page) is None
        assert batch.settle() == 0 and batch.failures == {"rejected": 1}
        with pytest.raises(TeacherError):
            TeacherAnswerer(batch).answer(page)  # known to fail: an error, not a new deferral
        assert batch.pending == {} and len(server.log) == 1
        offline = TeacherBatch(
            make_teacher({**config, "offline": True}, api_key=None, cache_path=cache), None
        )
        assert TeacherAnswerer(offline).answer(request(plan_prompt(["b.py"]))) is None
        assert offline.settle() == 0 and offline.stats()["teacher_failed_offline_miss"] == 1
        assert len(server.log) == 1


def test_model_answerer_sends_the_clients_options(tmp_path):
    seen = []

    def responder(api, body):
        seen.append(body)
        return "<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final<|message|># Cart\n\nok"

    with FakeTeacherServer(responder) as server:
        model = ModelAnswerer(server.base_url("openai"), "served-gguf")
        answer = model.answer(request(page_prompt("Cart", []), num_predict=4096, temperature=0.1))
        model.close()
    (body,) = seen
    assert body["max_tokens"] == 4096 and body["temperature"] == 0.1 and body["stream"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["model"] == "served-gguf"
    assert (answer.content, answer.thinking) == ("# Cart\n\nok", "think")


def test_split_harmony():
    assert split_harmony("plain answer") == ("plain answer", None)
    raw = "<|channel|>final<|message|>Done.<|return|>"
    assert split_harmony(raw) == ("Done.", None)
    assert (
        re.sub(
            r"\s",
            "",
            split_harmony("<|channel|>analysis<|message|>a<|end|>x<|channel|>final<|message|>b")[1],
        )
        == "a"
    )


def test_codewikibench_row_replays_as_a_wiki():
    """The demo CodeWikiBench row (its structured_docs) as a reference wiki: pages in tree
    order, their section refs in local-mode form, resolving in demo/shop."""
    from wikikit.data.sources.reference_wikis import codewikibench_wiki

    row = read_jsonl(ROOT / "demo" / "codewikibench" / "shop.jsonl")[0]
    wiki = codewikibench_wiki(row)
    assert wiki.repo == "demo/shop" and wiki.commit is None and len(wiki.pages) >= 5
    answerer = ReplayAnswerer(wiki)
    plan = protocol.plan_pages(answerer.answer(request(plan_prompt(LISTED))).content)
    assert [p["title"] for p in plan] == [p.title for p in wiki.pages]
    text = answerer.answer(request(page_prompt(plan[1]["title"], []))).content
    refs = parse_refs(text)
    assert protocol.page_has_title(text, plan[1]["title"]) and refs
    repo = Repo(SHOP, "demo/shop")
    assert all(r.form == "local" and verify_ref(repo, r.path, r.start, r.end) is None for r in refs)


def test_a_pass_of_deferred_prompts_goes_out_as_one_message_batch(tmp_path):
    """With `batch: true` the live teacher answers settle()'s prompts through Message Batches
    (half price); the lookups stay single cache reads and are never batched."""

    def responder(api, body):
        return "# P\n\n" + "text " * 60

    with FakeTeacherServer(responder) as server:
        config = {
            "provider": "anthropic", "model": "claude-sonnet-5-5", "base_url": server.url,
            "batch": True, "batch_poll_s": 0.01, "max_tokens": 512,
        }  # fmt: skip
        cache = tmp_path / "teacher.sqlite"
        batch = TeacherBatch(
            make_teacher(
                {**config, "offline": True, "batch": False}, api_key=None, cache_path=cache
            ),
            make_teacher(config, api_key="sk-test", cache_path=cache),
        )
        pages = [request(page_prompt(f"P{i}", [])) for i in range(3)]
        first = TeacherAnswerer(batch)
        assert [first.answer(p) for p in pages] == [None, None, None]
        assert batch.settle() == 3
        paths = [r["path"] for r in server.log]
        assert paths.count("/v1/messages/batches") == 1 and "/v1/messages" not in paths
        again = TeacherAnswerer(batch)
        assert all(again.answer(p).content.startswith("# P") for p in pages)
        assert len(server.log) == len(paths)  # answered from the cache, no request
        assert batch.stats()["batch_requests"] == 3
        batch.close()


def test_a_served_model_is_asked_as_the_deployment_asks():
    """vLLM (Served kind vllm): /v1/completions with the prompt text node-llama-cpp feeds the
    deployed model (today's date, `# Instruction`) and its sampling: the call's max_tokens and
    temperature, top_k 40, top_p 0.95, min_p 0, special tokens kept. A URL of unknown kind: the
    chat API with the fields every OpenAI-compatible server takes, labelled not as deployed."""
    import datetime

    from harmony_reference import harmony_text
    from openai_stub import StubServer

    from wikikit.semanticwiki.deployment import Served

    page = request(page_prompt("Cart", []), system="You write docs.", num_predict=4096,
                   temperature=0.3)  # fmt: skip
    bare = json.loads(request("Generate an index page for a technical wiki").raw)
    bare["options"] = {}  # a call that names no sampling
    with StubServer(model_ids=("model",)) as server:
        vllm = ModelAnswerer(server.url, "model", seed=5, served=Served("vllm", 32768))
        answer = vllm.answer(page)
        vllm.answer(ChatRequest.parse(json.dumps(bare)))
        vllm.close()
        url = ModelAnswerer(server.url, "model", served=Served("url"))
        url.answer(page)
        url.close()
    (sent, sent_index, chat) = server.requests
    assert sent["path"] == "/v1/completions"
    body = sent["body"]
    assert {k: body[k] for k in ("max_tokens", "temperature", "top_k", "top_p", "min_p")} == {
        "max_tokens": 4096, "temperature": 0.3, "top_k": 40, "top_p": 0.95, "min_p": 0.0
    }  # fmt: skip
    assert body["skip_special_tokens"] is False and body["seed"] == 5 and "messages" not in body
    today = datetime.date.today().isoformat()
    # the independent rendering (tests/harmony_reference.py) of the system and last user turn,
    # as node-llama-cpp feeds them, and the generation prompt
    want = harmony_text(
        [{"role": "system", "content": "You write docs."}, {"role": "user", "content": page.user}],
        current_date=today,
        runtime="node-llama-cpp",
    )
    assert body["prompt"] == want + "<|start|>assistant"
    assert f"Current date: {today}\n" in body["prompt"]
    assert "<|start|>developer<|message|># Instruction\n\nYou write docs.\n\n<|end|>" in want
    assert answer.content.startswith("# Cart")  # the stub's page, from the completion's text
    # a call without options: local-llama-provider.js's `|| 4096` and `?? 0.7`
    assert (sent_index["body"]["max_tokens"], sent_index["body"]["temperature"]) == (4096, 0.7)
    assert chat["path"] == "/v1/chat/completions"
    assert set(chat["body"]) == {
        "model",
        "stream",
        "messages",
        "max_tokens",
        "temperature",
        "top_p",
    }
    assert Served("url").label()[0] is False and Served("vllm", 32768).label()[0] is True
