"""The HTML fallback on the real deepwiki.com page: the article only, references repo-relative."""

from __future__ import annotations

import pytest
from deepwiki_real import CHROME_PHRASES, real_page

from wikikit.deepwiki.flight import decode_html
from wikikit.deepwiki.html import convert_html
from wikikit.deepwiki.page import parse_page, wiki_page
from wikikit.example import Ref

needs_real = pytest.mark.skipif(real_page() is None, reason="needs ../shared (the real page)")


@needs_real
def test_real_page_html_is_the_article_without_chrome():
    html = real_page().decode("utf-8")
    converted = convert_html(html)
    assert converted.container == "prose-custom"
    text = converted.markdown
    for phrase in CHROME_PHRASES:
        assert phrase not in text, phrase
    # The ten diagrams are placeholders in the HTML: counted, never empty fences.
    assert converted.missing_diagrams == 10
    assert "```" not in text
    page = parse_page(text)
    assert page.title == "Core Components"
    assert page.source_files == ["README.md"]  # from the GitHub blob anchor, repo-relative
    # The same sections as the payload's markdown of this page, with the same prose.
    flight = next(p for p in decode_html(html).pages if p.id == "2.1")
    from_payload = wiki_page(flight.id, flight.title, flight.markdown)
    assert [(s.level, s.heading) for s in page.sections] == [
        (s.level, s.heading) for s in from_payload.sections
    ]
    assert page.sections[1].text == from_payload.sections[1].text  # with `[Data Flow](#2.2)`
    for section in page.sections:
        for phrase in CHROME_PHRASES:
            assert phrase not in section.heading + section.text


ARTICLE = """<html><body><div id="codebase-wiki-repo-page"><div class="sidebar">Last indexed: 1 May
<a href="/acme/widgets/2-store">Store</a></div>
<div class="prose-custom prose-custom-md"><h1>Widgets<button>Copy link to header</button></h1>
<details><summary>Relevant source files</summary><ul>
<li><a href="https://github.com/acme/widgets/blob/0123abc/widgets/app.py?plain=1"><svg></svg>widgets/app.py</a></li>
<li><a href="https://github.com/acme/widgets/blob/0123abc/docs/read%20me.md">docs/read me.md</a></li>
</ul></details>
<h2>Architecture</h2>
<p>The app hands requests to the <a href="/acme/widgets/2-store">store</a>.<!--$!--></p>
<pre><!--$!--><template data-dgst="BAILOUT_TO_CLIENT_SIDE_RENDERING"></template><!--/$--></pre>
<pre><code class="language-python">def handle(request):
    return store.get(request.id)</code></pre>
<p>Sources: <a href="https://github.com/acme/widgets/blob/0123abc/widgets/app.py?plain=1#L1-L40">widgets/
app.py:1-40</a>, <a href="https://github.com/acme/widgets/blob/0123abc/widgets/store.py#L7">store.py:7</a>,
<a href="https://example.com/spec">the spec</a></p>
</div><h3>On this page</h3></div></body></html>"""


def test_blob_anchors_become_repo_relative_references():
    converted = convert_html(ARTICLE)
    page = parse_page(converted.markdown)
    assert page.source_files == ["widgets/app.py", "docs/read me.md"]
    arch = page.sections[1]
    # The anchor text broke over a line and was wrong about the path; the href is right.
    assert arch.refs == [Ref("widgets/app.py", 1, 40), Ref("widgets/store.py", 7, 7)]
    assert "?plain=1" not in converted.markdown and "github.com" not in converted.markdown
    assert "[store](#2)" in arch.text and "[the spec](https://example.com/spec)" in arch.text
    assert converted.missing_diagrams == 1 and arch.diagrams == []
    assert "```python\ndef handle(request):" in arch.text
    for phrase in ("Last indexed", "On this page", "Copy link to header", "$!", "/$"):
        assert phrase not in converted.markdown


def test_without_a_known_container_the_body_is_used():
    converted = convert_html("<html><body><nav>Menu</nav><h1>T</h1><p>text</p></body></html>")
    assert converted.container == "body" and converted.markdown == "# T\n\ntext\n"
    assert convert_html("").markdown == "" and convert_html("<<<>>>").missing_diagrams == 0
