"""`wikikit deepwiki parse FILE...`: what a crawl would get from saved pages, for people and machines."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from deepwiki_real import CHROME_PHRASES, COMMIT, PAGE_IDS, REPO, real_page_path

from wikikit.cli import cli
from wikikit.deepwiki.flight import FlightPage, encode_stream, stream_from_html


def invoke(*args: str):
    return CliRunner().invoke(cli, ["deepwiki", "parse", *args])


@pytest.mark.skipif(real_page_path() is None, reason="needs ../shared (the real page)")
def test_real_page_its_stream_and_the_same_wiki_as_mcp_text(tmp_path):
    page = real_page_path()
    result = invoke(str(page))
    assert result.exit_code == 0, result.output
    assert f"HTML page with a flight payload of {REPO} at {COMMIT}, 11 pages" in result.output
    assert (
        "2.1  Core Components: 27 sections, 10 mermaid, 0 references, 1 source files (README.md)"
        in result.output
    )
    stream = tmp_path / "wiki.rsc"
    stream.write_bytes(stream_from_html(page.read_text(encoding="utf-8")))
    mcp = tmp_path / "contents.md"
    as_json = json.loads(invoke("--json", str(page), str(stream)).output)
    pages = as_json[0]["pages"]
    mcp.write_text(
        "\n\n".join(f"# Page: {p['title']}\n\nbody of {p['id']}\n\n## S\n\ntext" for p in pages)
    )
    assert [p["id"] for p in pages] == PAGE_IDS
    assert as_json[1]["kind"] == "flight" and as_json[1]["pages"] == pages
    assert pages[2]["mermaid"] == 10 and pages[2]["source_files"] == ["README.md"]
    mcp_json = json.loads(invoke("--json", str(mcp)).output)[0]
    assert mcp_json["kind"] == "mcp" and [p["title"] for p in mcp_json["pages"]] == [
        p["title"] for p in pages
    ]


def test_html_without_payload_mcp_text_and_bad_files(tmp_path):
    html = tmp_path / "page.html"
    html.write_text(
        '<html><body><div class="prose-custom"><h1>T</h1><h2>A</h2><p>x <a href="https://github.com/o/r/blob/1/a.py#L1-L2">a</a></p>'
        "<pre><template></template></pre></div></body></html>"
    )
    result = invoke("--json", str(html))
    entry = json.loads(result.output)[0]
    assert entry["kind"] == "html" and entry["missing_diagrams"] == 1
    assert entry["pages"][0]["references"] == 1
    rsc = tmp_path / "broken.rsc"
    stream = encode_stream("o/r", [FlightPage("1", "A", "# A\n\n## B\n\ntext\n")], "abcdef1", None)
    rsc.write_bytes(stream.encode()[:-40])  # the wiki row cut short
    result = invoke(str(rsc))
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.strip()]
    assert line.startswith(f"error: {rsc}: no DeepWiki page found (read as flight stream)")
    assert "expected a DeepWiki page" in line
    # one good file and one bad: the good one is reported, the bad one named, exit 2
    result = invoke(str(html), str(rsc))
    assert result.exit_code == 2 and "1 pages" in result.output and str(rsc) in result.output
    result = invoke(str(tmp_path / "missing.html"))
    assert result.exit_code == 2 and "cannot read" in result.output
    big = tmp_path / "big.html"
    big.write_bytes(b"x" * (2 * 2**20))
    result = invoke("--max-mb", "1", str(big))
    assert result.exit_code == 2 and "over the 1 MiB limit" in result.output


def rendered_fragment(page_html: str) -> str:
    """What a headless-browser scraper saves of the real page: the article element alone
    (`div.prose-custom`, no <html> around it), as the browser left it: each diagram drawn as
    an SVG inside its <pre>, one not drawn yet (its source in a language-mermaid block), and
    line references as DeepWiki's blob anchors (fixture README)."""
    import lxml.html

    doc = lxml.html.document_fromstring(page_html)
    (article,) = doc.xpath(
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' prose-custom ')]"
    )
    pres = [p for p in article.iter("pre") if p.find(".//template") is not None]
    for n, pre in enumerate(pres):
        for child in list(pre):
            pre.remove(child)
        if n == 0:
            code = lxml.html.fragment_fromstring(
                '<code class="language-mermaid">graph TD\n  A[QCustomPlot] --> B[QCPLayer]</code>'
            )
            pre.append(code)
        else:
            pre.append(
                lxml.html.fragment_fromstring(
                    f'<svg id="mermaid-{n}" aria-roledescription="flowchart-v2"><g><text>Node {n}</text></g></svg>'
                )
            )
    details = article.find(".//details")
    item = lxml.html.fragment_fromstring(
        f'<li><a href="https://github.com/{REPO}/blob/{COMMIT}/src/qcustomplot.cpp">src/qcustomplot.cpp</a></li>'
    )
    details.find(".//ul").append(item)
    para = lxml.html.fragment_fromstring(
        f'<p>Sources: <a href="https://github.com/{REPO}/blob/{COMMIT}/src/layer.h#L5">layer.h</a></p>'
    )
    article.append(para)
    return lxml.html.tostring(article, encoding="unicode")


@pytest.mark.skipif(real_page_path() is None, reason="needs ../shared (the real page)")
def test_rendered_article_fragment_reads_like_a_page(tmp_path):
    fragment = tmp_path / "article.html"
    fragment.write_text(rendered_fragment(real_page_path().read_text(encoding="utf-8")))
    assert not fragment.read_text().lstrip().lower().startswith(("<html", "<!doctype"))
    result = invoke("--json", str(fragment))
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)
    (page,) = entry["pages"]
    assert entry["kind"] == "html-fragment" and page["title"] == "Core Components"
    assert page["sections"] == 27 and page["mermaid"] == 1 and page["references"] == 1
    assert set(page["source_files"]) >= {"README.md", "src/qcustomplot.cpp"}
    assert entry["missing_diagrams"] == 9  # drawn as SVG in the browser: no source to keep
    from wikikit.deepwiki.saved import read_saved

    markdown = "\n".join(p.source_markdown for p in read_saved(fragment).wiki.pages)
    assert not [c for c in CHROME_PHRASES if c in markdown]
    assert "Node 3" not in markdown  # an SVG's labels are not page text
