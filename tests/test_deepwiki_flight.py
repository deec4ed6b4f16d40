"""The Next.js flight payload: every page of a wiki from one real deepwiki.com page, within bounds."""

from __future__ import annotations

import json
import time

import pytest
from deepwiki_real import CHROME_PHRASES, COMMIT, PAGE_IDS, REPO, real_page
from deepwiki_site import PROJECT_PAGES

from wikikit.deepwiki.flight import (
    FlightPage,
    Limits,
    decode_html,
    decode_stream,
    encode_html,
    encode_stream,
    parse_rows,
    stream_from_html,
)
from wikikit.deepwiki.page import wiki_page

needs_real = pytest.mark.skipif(real_page() is None, reason="needs ../shared (the real page)")


@needs_real
def test_real_page_gives_every_page_with_mermaid_and_commit():
    decoded = decode_html(real_page().decode("utf-8"))
    assert decoded.found and not decoded.dropped
    assert (decoded.repo, decoded.commit) == (REPO, COMMIT)
    assert decoded.generated_at == "2025-05-16T04:44:04.777773"
    assert [p.id for p in decoded.pages] == PAGE_IDS
    pages = {p.id: wiki_page(p.id, p.title, p.markdown) for p in decoded.pages}
    assert pages["2.1"].title == "Core Components"
    assert len(pages["2.1"].diagrams) == 10
    assert [len(pages[i].diagrams) for i in PAGE_IDS] == [4, 7, 10, 7, 6, 3, 5, 7, 5, 7, 3]
    assert pages["2.1"].diagrams[0].startswith('graph TD\n    QCP["QCustomPlot Widget"]')
    assert all(d.strip() for p in pages.values() for d in p.diagrams)  # no empty fence
    assert pages["2.1"].source_files == ["README.md"]
    # Cross-page links stay DeepWiki's `(#2.2)`; page 3.1 cites README lines.
    assert "[Data Flow](#2.2)" in pages["2.1"].sections[1].text
    assert [(r.path, r.start, r.end) for r in pages["3.1"].refs] == [
        ("README.md", 1, 6),
        ("README.md", 2, 2),
    ]
    for page in pages.values():
        for section in page.sections:
            for phrase in CHROME_PHRASES:
                assert phrase not in section.heading + section.text, (page.id, section.heading)


@needs_real
def test_the_rsc_stream_alone_gives_the_same_wiki():
    html = real_page().decode("utf-8")
    stream = stream_from_html(html)
    assert stream.startswith(b'1:"$Sreact.fragment"\n') and len(stream) == 111_537
    a, b = decode_html(html), decode_stream(stream)
    assert [(p.id, p.title, p.markdown) for p in a.pages] == [
        (p.id, p.title, p.markdown) for p in b.pages
    ]
    assert b.commit == COMMIT


def test_encoded_wiki_round_trips_with_multibyte_text():
    # Text rows count UTF-8 bytes, not characters: a decoder that counts characters would
    # cut the next row in the middle and lose the wiki.
    pages = [
        FlightPage(slug.split("-", 1)[0], slug.split("-", 1)[1], text)
        for slug, text in PROJECT_PAGES.items()
    ]
    pages.append(FlightPage("23", "Ünïcödé ✓", "# Ünïcödé ✓\n\n## Émoji 🚀\n\nÇa marche — 中文.\n"))
    html = encode_html(
        encode_stream("acme/widgets", pages, "0123abcd", "2025-01-01"), chunk_chars=97
    )
    decoded = decode_html(html)
    assert not decoded.dropped
    assert [(p.id, p.title, p.markdown) for p in decoded.pages] == [
        (p.id, p.title, p.markdown) for p in pages
    ]
    assert decoded.commit == "0123abcd"


def test_huge_payloads_stop_at_the_limits():
    limits = Limits()
    # A text row that claims more bytes than the stream holds; a stream of tiny rows past the
    # row limit; a stream past the byte limit: counted, never a hang or a MemoryError.
    claims = b'0:"x"\n1:Tffffffffffff,' + b"a" * 100
    decoded = decode_stream(claims)
    assert decoded.dropped["truncated_rows"] == 1 and not decoded.found
    many = b"".join(b"%x:1\n" % i for i in range(limits.max_rows + 50_000))
    dropped = {}
    from collections import Counter

    dropped = Counter()
    rows = parse_rows(many, limits, dropped)
    assert len(rows) == limits.max_rows and dropped["rows_over_limit"] == 1
    big_page = FlightPage("1", "Big", "# Big\n\n" + "word " * (limits.max_bytes // 5))
    stream = encode_stream("a/b", [big_page], "abcdef12", None)
    started = time.monotonic()
    decoded = decode_stream(stream.encode())
    assert decoded.dropped["payload_over_limit"] == 1 and not decoded.pages
    html = encode_html(stream, chunk_chars=4 * 2**20)
    decoded = decode_html(html)
    assert decoded.dropped["payload_over_limit"] == 1 and not decoded.pages
    assert time.monotonic() - started < 60  # a bound on the worst case, not a benchmark
    # Pages and text over their limits are left out, the rest kept.
    small = Limits(max_pages=2, max_text_bytes=40)
    pages = [FlightPage(str(i), f"P{i}", f"# P{i}\n\n" + "x" * 10) for i in range(1, 6)]
    decoded = decode_stream(encode_stream("a/b", pages, None, None).encode(), small)
    assert [p.id for p in decoded.pages] == ["1", "2"]
    assert decoded.dropped["pages_over_limit"] == 3
    tight = Limits(max_text_bytes=35)  # each page is 16 bytes
    decoded = decode_stream(encode_stream("a/b", pages[:3], None, None).encode(), tight)
    assert [p.id for p in decoded.pages] == ["1", "2"] and decoded.dropped[
        "pages_over_text_limit"
    ] == 1


def text_row(rid: int, text: str) -> bytes:
    data = text.encode("utf-8")
    return b"%x:T%x," % (rid, len(data)) + data


def wiki_row(pages: object, metadata: object = None) -> bytes:
    wiki = {
        "wiki": {
            "metadata": metadata or {"repo_name": "a/b", "commit_hash": "abc1234"},
            "pages": pages,
        }
    }
    return b"5:" + json.dumps(["$", "$L1", None, wiki]).encode() + b"\n"


def test_malformed_payloads_are_counted_never_raised():
    good = text_row(0x14, "# A\n\nok\n")
    page = {"page_plan": {"id": "1", "title": "A"}, "content": "$14"}
    cases = {
        "garbage between rows": b"not a row at all\n\xff\xfe:\n" + good + wiki_row([page]),
        "bad text length": b"14:Tzz,# A\n" + wiki_row([page]),
        "invalid JSON wiki row": good + b'5:{"wiki": {"pages": [\n',
        "pages not a list": good + wiki_row("nope"),
        "missing reference": wiki_row([{"page_plan": {"id": "1", "title": "A"}, "content": "$99"}]),
        "deep nesting": good + b'5:{"wiki":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
        "bad commit": good
        + wiki_row([page], {"repo_name": "a/b", "commit_hash": "HEAD; rm -rf /"}),
        "plan not an object": good + wiki_row([{"page_plan": "$14", "content": "$14"}]),
        "binary row": b"3:o5,\x00\x01\x02\x03\x04" + good + wiki_row([page]),
        "empty": b"",
        "html noise": b"<html><body>no payload here</body></html>",
    }
    results = {name: decode_stream(data) for name, data in cases.items()}
    assert [p.id for p in results["garbage between rows"].pages] == ["1"]
    assert results["garbage between rows"].dropped["malformed_rows"] == 2
    assert results["bad text length"].pages == []
    assert results["bad text length"].dropped["malformed_rows"] == 1
    assert results["invalid JSON wiki row"].dropped["malformed_json_rows"] == 1
    assert results["pages not a list"].dropped["malformed_page_list"] == 1
    assert results["missing reference"].dropped["missing_references"] == 1
    assert results["missing reference"].dropped["pages_without_content"] == 1
    deep = results["deep nesting"].dropped
    assert deep["malformed_json_rows"] == 1 or deep["json_too_deep"] >= 1
    assert (
        results["bad commit"].commit is None
        and results["bad commit"].dropped["malformed_commit"] == 1
    )
    assert results["bad commit"].pages[0].markdown == "# A\n\nok\n"
    assert results["plan not an object"].dropped["pages_without_content"] == 1
    assert (
        results["binary row"].dropped["binary_rows"] == 1 and len(results["binary row"].pages) == 1
    )
    assert not results["empty"].found and not results["html noise"].found
    # Push scripts that are not JSON arrays are skipped, the rest still read.
    html = encode_html(good.decode() + wiki_row([page]).decode()).replace(
        "<script>self.__next_f.push([0])", "<script>self.__next_f.push([1, oops])"
    )
    html = html.replace("</body>", "<script>self.__next_f.push({})</script></body>")
    decoded = decode_html(html)
    assert [p.id for p in decoded.pages] == ["1"] and decoded.dropped["malformed_push_scripts"] == 1


def test_escaped_dollar_strings_are_literal_text():
    page = {"page_plan": {"id": "1", "title": "$$5 Plans"}, "content": "$$ not a reference"}
    decoded = decode_stream(wiki_row([page]))
    assert [(p.title, p.markdown) for p in decoded.pages] == [("$5 Plans", "$ not a reference")]
