"""SemanticWiki's local-mode prompts, read back: checked against what the real client sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_paths import SEMANTICWIKI_PROMPTS

from wikikit.semanticwiki import protocol

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "demo" / "shop"


def captured(mode: str) -> list[tuple[str, str, str]]:
    """(name, system, user) of each call of the captured real run on demo/shop."""
    if SEMANTICWIKI_PROMPTS is None:
        pytest.skip("needs ../shared (captured SemanticWiki prompts)")
    folder = SEMANTICWIKI_PROMPTS / mode
    out = []
    for user in sorted(folder.glob("*.user.txt")):
        system = user.with_name(user.name.replace(".user.", ".system."))
        out.append(
            (user.name, system.read_text(encoding="utf-8"), user.read_text(encoding="utf-8"))
        )
    return out


@pytest.mark.parametrize("mode", ["with-rag", "skip-index"])
def test_every_captured_call_is_recognised(mode):
    kinds = [protocol.call_kind(user) for _, _, user in captured(mode)]
    assert kinds == ["plan", "page", "page", "page", "page", "index"]
    assert protocol.call_kind("Hello") is None


def test_plan_prompt_lists_the_repository_files():
    _, _, user = captured("with-rag")[0]
    plan = protocol.parse_plan_prompt(user)
    listed = sorted(p.relative_to(SHOP).as_posix() for p in SHOP.rglob("*") if p.is_file())
    assert sorted(plan.files) == listed  # every file of demo/shop, and nothing else
    assert (plan.min_pages, plan.max_pages) == (5, 15)


@pytest.mark.parametrize("mode", ["with-rag", "skip-index"])
def test_page_context_chunks_are_the_repository_lines(mode):
    """Each chunk's code is the file's own text from its start line (the last line may be cut:
    the client keeps 1,500 characters): the parse finds the lines the prompt really shows."""
    pages = [user for name, _, user in captured(mode) if "page" in name]
    total = 0
    for user in pages:
        prompt = protocol.parse_page_prompt(user)
        assert prompt.title and prompt.page_type in protocol.PAGE_TYPES
        for chunk in prompt.chunks:
            lines = (SHOP / chunk.path).read_text(encoding="utf-8").split("\n")
            shown = chunk.code.split("\n")
            real = lines[chunk.start - 1 : chunk.start - 1 + len(shown)]
            assert real[:-1] == shown[:-1] and real[-1].startswith(shown[-1]), chunk.header
            assert chunk.end == chunk.start + len(shown) - 1
            total += 1
    assert total > 0


def test_page_prompt_title_type_and_related_pages():
    _, _, user = captured("with-rag")[1]
    prompt = protocol.parse_page_prompt(user)
    assert (prompt.title, prompt.page_type) == ("Architecture Overview", "overview")
    assert prompt.related == [
        ("Shop", "shop.md"),
        ("Python Modules", "python-modules.md"),
        ("Getting Started", "getting-started.md"),
    ]
    assert "shop/storage.py" in prompt.context_files
    assert prompt.shows("shop/storage.py", 11) and not prompt.shows("shop/storage.py", 10)
    assert not prompt.shows("shop/cart.py")


def test_index_prompt_pages():
    _, _, user = captured("with-rag")[-1]
    index = protocol.parse_index_prompt(user)
    assert index.project == "shop"
    assert index.pages[0] == ("Architecture Overview", "architecture.md", "overview")
    assert len(index.pages) == 4


def test_chunk_headers_only_after_a_closing_fence():
    """A `### ...` line inside quoted markdown is code, not a new chunk."""
    user = (
        '# Documentation Task: "Docs"\n\nYou are documenting a guide for a software project. x\n\n'
        "## Source Code Context\n\n"
        "### File: README.md\n```\n# Title\n\n### guide: fake (other.py:3)\ntext\n\n```\n\n"
        "### shop/cart.py:4-6\n```python\na\nb\nc\n```\n"
        "\n## Documentation Requirements\n"
    )
    chunks = protocol.parse_page_prompt(user).chunks
    assert [(c.path, c.start, c.end) for c in chunks] == [
        ("README.md", 1, 4),
        ("shop/cart.py", 4, 6),
    ]


def test_answer_rules():
    assert protocol.page_has_title("\n# Cart\n\nText", "Cart")
    assert not protocol.page_has_title("## Cart\n", "Cart")
    assert not protocol.page_has_title("Intro\n# Cart", "Cart")
    pages = [{"title": "A", "filename": "a.md", "type": "overview", "context": "", "files": []}]
    plan = json.dumps({"projectType": "x", "pages": pages})
    assert protocol.plan_pages(plan) == pages
    assert protocol.plan_pages(f"```json\n{plan}\n```") == pages  # the client strips a fence
    assert protocol.plan_pages("Here is the plan: " + plan) is None
    assert protocol.plan_pages('{"pages": "none"}') is None
