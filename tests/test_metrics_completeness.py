"""Wiki completeness metric on hand-made wikis with known scores."""

from __future__ import annotations

import json

import pytest

from wikikit.eval.metrics.completeness import pages_from_output, score_completeness

OVERVIEW = """# Overview

The service signs tokens. See [Auth](components/auth.md) and [the API](api.md#routes).

Sources: [src/app.py:1-20]()
"""
AUTH = """# Auth

`JwtProvider` signs. Back to [overview](../overview.md); code at [jwt](../../src/jwt.py#L3-L9).

**Source:** [`src/jwt.py:3-9`](../../src/jwt.py#L3-L9)
"""
API = """# API

## Routes

Routes live in `src/routes.py:1-30`.
"""
WIKI = {"overview.md": OVERVIEW, "components/auth.md": AUTH, "api.md": API}


def test_complete_wiki_scores_one() -> None:
    s = score_completeness(WIKI, required=["overview.md", "Routes"])
    assert s.links == (3, 3)  # the link to ../../src/jwt.py is a source ref, not a page
    assert s.referenced == (3, 3)
    assert s.required == (2, 2)
    assert s.completeness == 1.0
    assert s.problems == []


def test_empty_wiki_scores_zero() -> None:
    s = score_completeness({}, required=["overview.md"])
    assert s.completeness == 0.0


def test_broken_link_missing_refs_missing_section() -> None:
    wiki = dict(WIKI)
    wiki["api.md"] = "# API\n\nSee [deploy](ops/deploy.md). No sources here.\n"
    s = score_completeness(wiki, required=["overview.md", "Routes", "Getting started"])
    assert s.links == (3, 4)
    assert s.referenced == (2, 3)
    assert s.required == (1, 3)
    assert s.completeness == pytest.approx((3 / 4 + 2 / 3 + 1 / 3) / 3)
    assert "api.md: broken link to ops/deploy.md" in s.problems
    assert "api.md: no source reference" in s.problems


def test_deepwiki_page_id_links() -> None:
    pages = {
        "1": "# A\n\nSee [B](#2) and [C](#3).\n\nSources: [a.py:1-2]()",
        "2": "# B\n\nSources: [b.py:1]()",
    }
    s = score_completeness(pages)
    assert s.links == (1, 2)


def test_pages_from_write_wiki_page_calls_and_markers() -> None:
    call = {
        "tool": "write_wiki_page",
        "args": {"pagePath": "overview.md", "title": "Overview", "content": "Body [x](a.md)"},
    }
    harmony = (
        "<|channel|>commentary to=functions.write_wiki_page <|constrain|>json<|message|>"
        + json.dumps({"pagePath": "a.md", "title": "A", "content": "Sources: [a.py:1-2]()"})
        + "<|call|>"
    )
    pages = pages_from_output(json.dumps(call) + "\n" + harmony)
    assert pages == {
        "a.md": "# A\n\nSources: [a.py:1-2]()",
        "overview.md": "# Overview\n\nBody [x](a.md)",
    }
    marked = "<!-- page: one.md -->\n# One\ntext\n<!-- page: two.md -->\n# Two\n"
    assert pages_from_output(marked) == {"one.md": "# One\ntext", "two.md": "# Two"}


def test_source_file_lists_are_not_wiki_links() -> None:
    page = (
        "# A\n\n<details>\n<summary>Relevant source files</summary>\n\n- [README.md](README.md)\n\n</details>\n\n"
        "See [B](b.md).\n\nSources: [README.md:1-5]()\n"
    )
    assert score_completeness({"a.md": page, "b.md": "# B\n\nSources: [x.py:1]()"}).links == (1, 1)


def test_output_without_any_page_is_no_pages_not_a_crash():
    from wikikit.eval.metrics.completeness import pages_from_output

    assert pages_from_output("random tokens from an untrained model <|end|> zz") == {}
    assert pages_from_output("") == {}
