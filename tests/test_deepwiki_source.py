"""`kind: deepwiki` end to end at the source level: crawl a local site, parse, chunk, examples."""

from __future__ import annotations

import pytest
from deepwiki_site import OWNER, REPO, project_pages, real_pages, start_site, stop

from wikikit.data.sources import SourceContext
from wikikit.data.sources.deepwiki import generate
from wikikit.errors import InputError
from wikikit.example import Ref

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site():
    pages = project_pages() | real_pages()
    wiki, offsite = start_site(pages, markdown_slug="22-Widget Storage")
    yield wiki, pages
    stop(wiki)
    stop(offsite)


def config(base_url: str, **extra) -> dict:
    return {
        "kind": "deepwiki",
        "repos": [f"{OWNER}/{REPO}"],
        "base_url": base_url,
        "autothrottle": False,
        "download_delay": 0,
        "concurrency_per_domain": 8,
        **extra,
    }


def test_examples_from_crawled_pages_and_no_refetch(site, tmp_path):
    wiki, pages = site
    ctx = SourceContext(recipe=None, cache_dir=tmp_path / "cache", seed=3)
    examples = list(
        generate("dw", config(wiki.base_url, chunking={"strategy": "heading", "level": 2}), ctx)
    )
    stats = ctx.stats["dw"]
    # Every wiki page (plus the flaky and slow ones) parsed once; the repo root duplicates page 1.
    assert stats["pages_parsed"] == len(pages) + 2
    assert stats["pages_duplicate"] == 1
    by_heading = {e.meta["heading"]: e for e in examples}
    arch = by_heading["Architecture"]
    assert arch.source == "deepwiki" and arch.repo == f"{OWNER}/{REPO}"
    assert arch.refs == [Ref("widgets/app.py", 1, 40), Ref("widgets/store.py", 10, 22)]
    assert arch.meta["diagrams"] == 1 and "```mermaid" in arch.assistant_text
    assert "- widgets/app.py" in arch.messages[0].content
    assert by_heading["Request Flow"].category == "data_flow"
    assert by_heading["Retry Design"].refs == [Ref("widgets/retry.py", 1, 9)]
    # The markdown-served page is parsed like the HTML ones.
    assert by_heading["Cache Layer"].refs == [
        Ref("widgets/cache.py", 1, 25),
        Ref("widgets/store.py", 60, 70),
    ]
    assert len({e.id for e in examples}) == len(examples)
    if real_pages():
        real = [e for e in examples if e.language == "python"]
        assert len(real) > 100 and sum(e.meta["diagrams"] for e in examples) >= 116
    # Run again: everything comes from JOBDIR/HTTP cache, the server sees no new request.
    before = len(wiki.log)
    again = list(
        generate(
            "dw",
            config(wiki.base_url, chunking={"strategy": "heading", "level": 2}),
            SourceContext(recipe=None, cache_dir=tmp_path / "cache", seed=3),
        )
    )
    assert len(wiki.log) == before
    assert [e.id for e in again] == [e.id for e in examples]


def test_token_chunking_spans_pages(site, tmp_path):
    wiki, pages = site
    ctx = SourceContext(recipe=None, cache_dir=tmp_path / "cache")
    chunking = {
        "strategy": "tokens",
        "max_tokens": 3000,
        "overlap_tokens": 100,
        "size_distribution": [
            {"min_tokens": 500, "max_tokens": 1000, "weight": 0.25},
            {"min_tokens": 1000, "max_tokens": 2000, "weight": 0.5},
            {"min_tokens": 2000, "max_tokens": 3000, "weight": 0.25},
        ],
    }
    examples = list(generate("dw", config(wiki.base_url, chunking=chunking, max_examples=40), ctx))
    assert 1 <= len(examples) <= 40
    sizes = [e.meta["tokens"] for e in examples]
    assert max(sizes) <= 3000 + 150
    if real_pages():
        assert len(examples) == 40 and any(len(e.meta["urls"]) > 1 for e in examples)
        assert any(s < 1000 for s in sizes) and any(s >= 2000 for s in sizes)


def test_bad_chunking_strategy_is_an_input_error(tmp_path):
    ctx = SourceContext(recipe=None, cache_dir=tmp_path)
    with pytest.raises(InputError, match="chunking.strategy"):
        list(generate("dw", config("http://127.0.0.1:9", chunking={"strategy": "pages"}), ctx))
