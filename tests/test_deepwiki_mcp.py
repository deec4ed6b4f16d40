"""DeepWiki's MCP transport against a loopback server speaking MCP's streamable HTTP."""

from __future__ import annotations

import pytest
from deepwiki_mcp import McpWikiServer
from deepwiki_real import REPO, real_page
from deepwiki_site import PROJECT_PAGES

from wikikit.deepwiki.fetch import FetchSettings, crawl_wikis
from wikikit.deepwiki.flight import FlightPage, decode_html, decode_stream, encode_stream
from wikikit.deepwiki.mcp import (
    McpClient,
    McpError,
    McpSettings,
    NoWiki,
    fetch_wiki_mcp,
    split_pages,
)
from wikikit.deepwiki.page import wiki_page
from wikikit.deepwiki.polite import RateLimited


def project_flight_pages() -> list[FlightPage]:
    # The payload's markdown has no slug line and no `# Page:` line (those are the export's).
    pages = [
        FlightPage(
            slug.split("-", 1)[0],
            slug.split("-", 1)[1],
            text.split("# Page: ", 1)[1].split("\n", 1)[1],
        )
        for slug, text in PROJECT_PAGES.items()
    ]
    # A page whose code block holds a `# Page:` line: it must not split the page.
    pages.append(
        FlightPage(
            "22.1", "Quoting", "# Quoting\n\n## Example\n\n```text\n# Page: not a page\n```\n"
        )
    )
    return decode_stream(encode_stream("acme/widgets", pages, None, None).encode()).pages


def flight_pages(which: str) -> tuple[str, list[FlightPage]]:
    if which == "real":
        if real_page() is None:
            pytest.skip("needs ../shared (the real page)")
        return REPO, decode_html(real_page().decode("utf-8")).pages
    return "acme/widgets", project_flight_pages()


def shape(pages) -> list[tuple]:
    return [
        (
            p.id,
            p.title,
            [(s.level, s.heading, s.text) for s in p.sections],
            p.diagrams,
            p.refs,
            p.source_files,
        )
        for p in pages
    ]


@pytest.fixture
def serve():
    servers = []

    def start(wikis, **knobs) -> McpWikiServer:
        servers.append(McpWikiServer(wikis, **knobs).start())
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.mark.parametrize("which", ["real", "project"])
def test_mcp_gives_the_pages_the_flight_payload_gives(serve, which):
    repo, pages = flight_pages(which)
    server = serve({repo: [(p.id, p.title, p.markdown) for p in pages]})
    client = McpClient(McpSettings(url=server.url))
    wiki = fetch_wiki_mcp(client, repo)
    from_flight = [wiki_page(p.id, p.title, p.markdown) for p in pages]
    assert shape(wiki.pages) == shape(from_flight)
    assert wiki.transport == "mcp" and wiki.commit is None and not wiki.dropped
    if which == "real":
        assert len(wiki.pages) == 11 and len(wiki.pages[2].diagrams) == 10
    # The exchange: initialize (no session yet), the initialized notification (202), two tool
    # calls; every message after initialize carries the session and the protocol version.
    log = server.log
    assert [(e["method"], e["status"]) for e in log] == [
        ("initialize", 200),
        ("notifications/initialized", 202),
        ("tools/call", 200),
        ("tools/call", 200),
    ]
    assert log[0]["session"] is None and len({e["session"] for e in log[1:]}) == 1
    assert {e["protocol"] for e in log[1:]} == {"2025-06-18"}
    assert [e["tool"] for e in log[2:]] == ["read_wiki_structure", "read_wiki_contents"]
    assert wiki.requests == 4


def test_json_answers_an_ended_session_and_unknown_repos(serve):
    _, pages = flight_pages("project")
    server = serve(
        {"acme/widgets": [(p.id, p.title, p.markdown) for p in pages]},
        sse=False,
        end_session_after=1,
    )
    client = McpClient(McpSettings(url=server.url))
    wiki = fetch_wiki_mcp(client, "acme/widgets")
    assert len(wiki.pages) == len(pages)
    # The server forgot the session after one call: 404, a new initialize, the call again.
    methods = [(e["method"], e["status"]) for e in server.log]
    assert methods.count(("initialize", 200)) == 2 and ("tools/call", 404) in methods
    with pytest.raises(NoWiki, match="Repository not found"):
        fetch_wiki_mcp(client, "nobody/nothing")
    server.errors.add("acme/widgets")
    with pytest.raises(McpError, match="upstream timeout"):
        fetch_wiki_mcp(client, "acme/widgets")


def test_429_waits_out_retry_after(serve):
    _, pages = flight_pages("project")
    server = serve(
        {"acme/widgets": [(p.id, p.title, p.markdown) for p in pages]},
        rate_limit_first=1,
        retry_after="1",
    )
    client = McpClient(McpSettings(url=server.url))
    assert fetch_wiki_mcp(client, "acme/widgets").pages
    limited = next(i for i, e in enumerate(server.log) if e["status"] == 429)
    gap = server.log[limited + 1]["t"] - server.log[limited]["t"]
    assert gap >= 0.95, gap
    # A longer wait than the crawl allows stops it rather than hammering or hanging.
    server.tool_calls, server.rate_limit_first, server.retry_after = 0, 5, "3600"
    before = len(server.log)
    with pytest.raises(RateLimited, match="3600 s"):
        fetch_wiki_mcp(McpClient(McpSettings(url=server.url, retry_after_max_s=60)), "acme/widgets")
    assert [e["status"] for e in server.log[before:]] == [200, 202, 429]


def test_answers_over_the_size_limit_fail_cleanly(serve):
    _, pages = flight_pages("project")
    server = serve({"acme/widgets": [(p.id, p.title, p.markdown) for p in pages]})
    client = McpClient(McpSettings(url=server.url, max_response_bytes=500))
    with pytest.raises(McpError, match="over 500 bytes"):
        fetch_wiki_mcp(client, "acme/widgets")


def test_split_pages_respects_fences():
    text = "# Page: A\n\n# A\n\n```\n# Page: inside\n```\n\n# Page: B\n\nb\n"
    assert split_pages(text) == [("A", "# A\n\n```\n# Page: inside\n```\n"), ("B", "b\n")]
    assert split_pages("no pages here") == []


def test_crawl_over_mcp_records_status_and_resumes(serve, tmp_path):
    _, pages = flight_pages("project")
    entries = [(p.id, p.title, p.markdown) for p in pages]
    server = serve({"acme/widgets": entries, "acme/gadgets": entries[:1], "acme/flaky": entries})
    server.errors.add("acme/flaky")
    settings = FetchSettings(transport="mcp", mcp_url=server.url, download_delay=0, concurrency=2)
    repos = ["acme/widgets", "acme/gadgets", "acme/flaky", "nobody/nothing"]
    result = crawl_wikis(repos, settings, tmp_path / "crawl")
    assert {r: result.status_of(r)["status"] for r in repos} == {
        "acme/widgets": "fetched",
        "acme/gadgets": "fetched",
        "acme/flaky": "failed",
        "nobody/nothing": "no_wiki",
    }
    assert "upstream timeout" in result.status_of("acme/flaky")["reason"]
    assert [len(w.pages) for w in result.wikis()] == [len(pages), 1]
    assert result.summary()["by_status"] == {"failed": 1, "fetched": 2, "no_wiki": 1}
    # Again: only the failed repo is asked (and now succeeds); nothing else is requested.
    server.errors.clear()
    before = len(server.log)
    again = crawl_wikis(repos, settings, tmp_path / "crawl")
    asked = [e for e in server.log[before:] if e["method"] == "tools/call"]
    assert len(asked) == 2 and again.status_of("acme/flaky")["status"] == "fetched"
    assert [w.repo for w in again.wikis()] == ["acme/widgets", "acme/gadgets", "acme/flaky"]
    assert shape(next(again.wikis()).pages) == shape(next(result.wikis()).pages)
