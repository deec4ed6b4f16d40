"""DeepWiki page parsing (markdown and HTML forms) and chunking."""

from __future__ import annotations

import random
import re

import pytest
from deepwiki_site import PROJECT_PAGES, real_pages
from markdown_it import MarkdownIt

from wikikit.deepwiki.chunking import chunk_by_tokens, chunk_page
from wikikit.deepwiki.html import html_to_markdown
from wikikit.deepwiki.markdown import restore_mermaid_fences, split_blocks
from wikikit.deepwiki.page import parse_page
from wikikit.example import Ref
from wikikit.tokens import count_tokens

_md = MarkdownIt("commonmark", {"html": True}).enable("table")
OVERVIEW = PROJECT_PAGES["21-Widgets Overview"]
STORAGE = PROJECT_PAGES["22-Widget Storage"]


def as_html(markdown: str) -> str:
    return f"<html><body><nav><a href='/x'>Nav</a></nav><article>{_md.render(markdown)}</article></body></html>"


def test_parse_project_page():
    page = parse_page(OVERVIEW)
    assert page.slug == "21-Widgets Overview"
    assert page.title == "Widgets Overview"
    assert page.source_files == ["widgets/app.py", "widgets/store.py"]
    assert [(s.level, s.heading) for s in page.sections] == [
        (1, "Widgets Overview"),
        (2, "Architecture"),
        (2, "Request Flow"),
    ]
    # The `# not a heading` comment inside the python block is code, not a section.
    assert "# not a heading" in page.sections[2].text
    assert len(page.diagrams) == 2
    assert page.diagrams[1].startswith("sequenceDiagram")
    assert page.refs == [
        Ref("widgets/app.py", 1, 40),
        Ref("widgets/store.py", 10, 22),
        Ref("widgets/app.py", 41, 77),
    ]
    assert page.sections[1].refs == [Ref("widgets/app.py", 1, 40), Ref("widgets/store.py", 10, 22)]
    assert "Relevant source files" not in page.markdown


def test_html_page_parses_like_markdown():
    for text in (OVERVIEW, STORAGE):
        a = parse_page(text)
        b = parse_page(html_to_markdown(as_html(text)))
        assert (b.title, b.source_files, b.diagrams, b.refs) == (
            a.title,
            a.source_files,
            a.diagrams,
            a.refs,
        )
        assert [(s.level, s.heading) for s in b.sections] == [
            (s.level, s.heading) for s in a.sections
        ]


def test_html_restores_underscores_in_reference_paths():
    html = as_html("Sources: [pkg/__init__.py:1-17](), [a/_private_.py:2-3]()")
    text = html_to_markdown(html)
    assert "[pkg/__init__.py:1-17]()" in text and "[a/_private_.py:2-3]()" in text


@pytest.mark.skipif(not real_pages(), reason="needs ../shared (real DeepWiki pages)")
def test_real_openhands_pages_every_section_diagram_and_ref():
    pages = real_pages()
    assert len(pages) == 20
    totals = {"sections": 0, "refs": 0, "diagrams": 0}
    independent = {"sections": 0, "refs": 0, "diagrams": 0}
    for slug, text in pages.items():
        page = parse_page(text)
        # Every heading outside code fences is a section (the "# Page:" line is the title).
        headings = [
            b for b in split_blocks(text) if b.kind == "heading" and not b.title.startswith("Page:")
        ]
        assert [s.heading for s in page.sections] == [h.title for h in headings], slug
        assert len(page.diagrams) == text.count("```mermaid"), slug
        # Every ranged `Sources: [path:start-end]()` reference is found (labels inside
        # diagrams such as `(session.py:314)` are not repo-relative references).
        ranged = re.findall(r"\[([^\]\s]+?):(\d+)(?:-(\d+))?\]\(\)", text)
        expected = {Ref(p, int(s), int(e or s)) for p, s, e in ranged}
        assert set(page.refs) == expected, slug
        assert len(page.refs) == len(expected)
        assert page.title == slug.split("-", 1)[1]
        assert page.source_files, slug
        # The same page served as HTML yields the same structure.
        html_page = parse_page(html_to_markdown(as_html(text)))
        assert html_page.refs == page.refs and html_page.diagrams == page.diagrams, slug
        assert [s.heading for s in html_page.sections] == [s.heading for s in page.sections], slug
        independent["sections"] += len(headings)
        independent["refs"] += len(expected)
        independent["diagrams"] += text.count("```mermaid")
        totals["sections"] += len(page.sections)
        totals["refs"] += len(page.refs)
        totals["diagrams"] += len(page.diagrams)
    assert totals == independent
    assert totals["sections"] > 300 and totals["refs"] > 300 and totals["diagrams"] > 100


def test_chunk_by_heading_levels_and_h2_and_hr():
    page = parse_page(STORAGE)
    level1 = chunk_page(page, "heading", 1)
    level2 = chunk_page(page, "heading", 2)
    level3 = chunk_page(page, "heading", 3)
    assert len(level1) == 1
    assert [c.headings[0][1] for c in level2] == ["Store Component", "Cache Layer"]
    assert [c.headings[0][1] for c in level3] == ["Store Component", "Persistence", "Cache Layer"]
    assert [c.headings[0][1] for c in chunk_page(page, "h2")] == ["Store Component", "Cache Layer"]
    hr = chunk_page(page, "hr")
    assert len(hr) == 2 and "Persistence" in hr[0].text and "Cache Layer" in hr[1].text
    # Each chunk keeps exactly its own refs and diagrams.
    assert level2[0].refs == [Ref("widgets/store.py", 30, 58)]
    assert level2[1].refs == [Ref("widgets/cache.py", 1, 25), Ref("widgets/store.py", 60, 70)]
    assert [len(c.diagrams) for c in level2] == [0, 1]
    total_refs = sum(len(c.refs) for c in level3)
    assert total_refs == len(page.refs)


def _long_blocks(n_sections: int = 60):
    parts = []
    for i in range(n_sections):
        prose = " ".join(
            f"Component {i} sentence {j} explains the store and the cache." for j in range(40)
        )
        parts.append(
            f"## Section {i}\n\n{prose}\n\n```mermaid\ngraph TD\n    A{i} --> B{i}\n```\n\n"
            f"Sources: [src/mod{i}.py:{i + 1}-{i + 20}]()"
        )
    return parse_page("# Page: Long\n\n# Long\n\n" + "\n\n".join(parts)).blocks


def test_token_chunks_follow_distribution_keep_diagrams_and_overlap():
    blocks = _long_blocks()
    dist = [
        {"min_tokens": 300, "max_tokens": 800, "weight": 0.25},
        {"min_tokens": 800, "max_tokens": 2000, "weight": 0.5},
        {"min_tokens": 2000, "max_tokens": 4000, "weight": 0.25},
    ]
    chunks = chunk_by_tokens(
        blocks, distribution=dist, max_tokens=4000, overlap_tokens=100, rng=random.Random(1)
    )
    sizes = [c.tokens for c in chunks]
    assert len(chunks) >= 8
    assert max(sizes) <= 4000 + 150
    # Sizes spread over the buckets rather than all landing in one.
    assert any(s < 800 for s in sizes) and any(s >= 2000 for s in sizes)
    # Every diagram is whole, and all diagrams and refs survive chunking.
    total_diagrams = sum(len(c.diagrams) for c in chunks)
    assert total_diagrams == 60
    for c in chunks:
        assert c.text.count("```") % 2 == 0
    refs = {r for c in chunks for r in c.refs}
    assert len(refs) == 60
    # Consecutive chunks overlap by about the overlap budget.
    overlaps = [c.overlap for c in chunks[1:]]
    assert all(o and count_tokens(o) <= 150 for o in overlaps)
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.overlap in prev.text


def test_token_chunks_split_an_oversized_block():
    big = "\n".join(f"line {i} of a very long paragraph about caching" for i in range(2000))
    chunks = chunk_by_tokens(
        split_blocks(big), distribution=[{"max_tokens": 1000}], max_tokens=1000, overlap_tokens=0
    )
    assert len(chunks) > 10
    assert all(c.tokens <= 1000 for c in chunks)
    assert "".join(c.text for c in chunks).count("line 1999 of") == 1


def test_restore_mermaid_fences():
    text = "Intro\n\n```\nsequenceDiagram\n    A->>B: hi\n```\n\n```\nprint(1)\n```"
    out = restore_mermaid_fences(text)
    assert "```mermaid\nsequenceDiagram" in out
    assert "```\nprint(1)\n```" in out
