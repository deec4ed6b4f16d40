"""The site transport end to end: the real scrapy crawl of pages served from 127.0.0.1.

One request per repository gives the whole wiki from its flight payload (the real deepwiki.com
page, served unchanged); many repositories from a `repos_file` get a status each (fetched, no
wiki, failed with its reason) and a re-run asks only for what failed; a 429 is waited out for
its Retry-After; robots.txt is obeyed; `RSC: 1` asks for the stream itself; `checkout: true`
pins each repository at the wiki's commit and the reference filter checks against it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from deepwiki_real import CHROME_PHRASES, COMMIT, PAGE_IDS, REPO, real_page
from deepwiki_site import PROJECT_PAGES, Route, Site, render_html, serve, stop

from wikikit.code.holdout import Holdout
from wikikit.data.filters.references import RepoIndex, VerifyRefsFilter
from wikikit.data.sources import SourceContext
from wikikit.data.sources.deepwiki import generate
from wikikit.deepwiki.flight import FlightPage, encode_html, encode_stream
from wikikit.deepwiki.store import CrawlStore
from wikikit.errors import WikikitError
from wikikit.example import Example, Message, Ref

pytestmark = pytest.mark.slow
ROBOTS = b"User-agent: *\nDisallow: /acme/private\n"


def payload_pages(commit: str | None = None) -> list[FlightPage]:
    out = []
    for slug, text in PROJECT_PAGES.items():
        pid, title = slug.split("-", 1)
        out.append(FlightPage(pid, title, text.split("# Page: ", 1)[1].split("\n", 1)[1]))
    return out


def flight_page(repo: str, commit: str | None = "0123abcd", pages=None) -> bytes:
    stream = encode_stream(repo, pages or payload_pages(), commit, "2025-05-16T04:44:04")
    body = '<div id="codebase-wiki-repo-page"><div class="prose-custom"><h1>Only this page</h1></div></div>'
    return encode_html(stream, body).encode()


def config(base_url: str, **extra) -> dict:
    return {
        "kind": "deepwiki",
        "base_url": base_url,
        "autothrottle": False,
        "download_delay": 0,
        "concurrency_per_domain": 4,
        "retries": 1,
        "timeout_s": 10,
        "chunking": {"strategy": "heading", "level": 2},
        **extra,
    }


def requested(site: Site) -> list[str]:
    return [p for p in site.paths() if p != "/robots.txt"]


@pytest.mark.skipif(real_page() is None, reason="needs ../shared (the real page)")
def test_real_page_served_unchanged_gives_the_whole_wiki_in_one_request(tmp_path):
    site = serve(
        Site(
            routes={
                "/robots.txt": Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"),
                f"/{REPO}": Route(body=real_page()),
            }
        )
    )
    try:
        ctx = SourceContext(
            recipe=None, cache_dir=tmp_path / "cache", seed=1, key_path=("data", "sources", "dw")
        )
        examples = list(generate("dw", config(site.base_url, repos=[REPO]), ctx))
    finally:
        stop(site)
    assert requested(site) == [f"/{REPO}"]  # one request: no page link followed
    summary = ctx.artifacts["deepwiki/dw.json"]["summary"]
    assert summary["by_status"] == {"fetched": 1} and summary["requests"] == 1
    assert ctx.stats["dw"]["pages_parsed"] == 11 and ctx.stats["dw"]["wikis_from_flight"] == 1
    store = CrawlStore(next((tmp_path / "cache" / "deepwiki").iterdir()))
    wiki = store.load_wiki_dict(REPO)
    assert [p["id"] for p in wiki["pages"]] == PAGE_IDS and wiki["commit"] == COMMIT
    assert wiki["pages"][2]["markdown"].count("```mermaid") == 10
    assert {e.repo for e in examples} == {f"{REPO}@{COMMIT}"}
    assert sum(e.meta["diagrams"] for e in examples) == 64
    for e in examples:
        for phrase in CHROME_PHRASES:
            assert phrase not in e.assistant_text, (e.meta["heading"], phrase)
    assert any(e.meta["page_ids"] == ["2.1"] and e.meta["diagrams"] == 1 for e in examples)


def test_repos_file_statuses_resume_retry_after_and_robots(tmp_path):
    other_html = render_html(
        "Old",
        "# Page: Old Site\n\n# Old Site\n\n## Design\n\nNo payload. Sources: [a.py:1-2]()\n",
        [("/acme/oldsite/2-more", "More")],
    )
    more_html = render_html(
        "More", "# Page: More\n\n# More\n\n## Details\n\nSecond page. Sources: [b.py:3-4]()\n", []
    )
    routes = {
        "/robots.txt": Route(body=ROBOTS, content_type="text/plain"),
        "/acme/widgets": Route(body=flight_page("acme/widgets")),
        "/acme/limited": Route(
            body=flight_page("acme/limited"),
            fail_first=1,
            fail_status=429,
            fail_headers={"Retry-After": "1"},
        ),
        "/acme/broken": Route(body=b"x", fail_first=10**6),
        "/acme/private": Route(body=flight_page("acme/private")),
        "/acme/oldsite": Route(body=other_html.encode()),
        "/acme/oldsite/2-more": Route(body=more_html.encode()),
        "/All-Hands-AI/OpenHands": Route(body=flight_page("All-Hands-AI/OpenHands")),
        "/acme/huge": Route(body=b"<html><body>" + b"x" * (2 * 2**20) + b"</body></html>"),
    }
    site = serve(Site(routes=routes))
    repos = [
        "acme/huge",
        "acme/widgets",
        "acme/limited",
        "acme/missing",
        "acme/broken",
        "acme/private",
        "acme/oldsite",
        "All-Hands-AI/OpenHands",
    ]
    (tmp_path / "repos.txt").write_text("# wikis to fetch\n" + "\n".join(repos) + "\n\n")

    def run() -> tuple[list[Example], SourceContext]:
        ctx = SourceContext(
            recipe=None,
            cache_dir=tmp_path / "cache",
            key_path=("data", "sources", "dw"),
            holdout=Holdout(["OpenHands"]),
        )
        cfg = config(site.base_url, repos_file=str(tmp_path / "repos.txt"), max_payload_mb=1)
        return list(generate("dw", cfg, ctx)), ctx

    try:
        examples, ctx = run()
        first = list(site.log)
        status = {r["repo"]: r for r in ctx.artifacts["deepwiki/dw.json"]["repos"]}
        assert {r: s["status"] for r, s in status.items()} == {
            "acme/widgets": "fetched",
            "acme/limited": "fetched",
            "acme/missing": "no_wiki",
            "acme/broken": "failed",
            "acme/private": "failed",
            "acme/oldsite": "fetched",
            "All-Hands-AI/OpenHands": "held_out",
            "acme/huge": "failed",
        }
        assert "max size" in status["acme/huge"]["reason"], status["acme/huge"]  # 2 MiB > 1 MiB
        assert status["acme/broken"]["reason"] == "HTTP 500"
        assert "robots" in status["acme/private"]["reason"].lower()
        assert status["acme/missing"]["reason"] == "HTTP 404"
        assert status["acme/widgets"]["requests"] == 1 and status["acme/limited"]["requests"] == 2
        assert (
            status["acme/oldsite"]["transport"] == "html" and status["acme/oldsite"]["pages"] == 2
        )
        # Held out: never requested; robots.txt: never requested; the 429 waited out.
        assert "/All-Hands-AI/OpenHands" not in site.paths() and "/acme/private" not in site.paths()
        i = site.log.index(("/acme/limited", 429))
        retry = next(j for j in range(i + 1, len(site.log)) if site.log[j][0] == "/acme/limited")
        assert site.times[retry] - site.times[i] >= 0.95
        assert [p for p, s in first].count("/acme/broken") == 2  # one retry, then failed
        repos_of = {e.repo for e in examples}
        assert repos_of == {"acme/widgets@0123abcd", "acme/limited@0123abcd", "acme/oldsite"}
        assert ctx.stats["dw"]["holdout_repos"] == 1

        # Again: only what failed is asked for (robots.txt now comes from the HTTP cache).
        routes["/acme/broken"].fail_first = 0
        routes["/acme/broken"].body = flight_page("acme/broken")
        again, ctx2 = run()
        second = site.log[len(first) :]
        assert sorted(p for p, _ in second) == ["/acme/broken", "/acme/huge"]
        status = {r["repo"]: r["status"] for r in ctx2.artifacts["deepwiki/dw.json"]["repos"]}
        assert status["acme/broken"] == "fetched" and status["acme/private"] == "failed"
        assert {e.id for e in examples} <= {e.id for e in again}
    finally:
        stop(site)


def test_rsc_header_and_a_retry_after_too_long_stops_the_crawl(tmp_path):
    stream = encode_stream("acme/widgets", payload_pages(), "0123abcd", None).encode()
    routes = {
        "/robots.txt": Route(body=b"", content_type="text/plain"),
        "/acme/widgets": Route(body=b"<html><body>no payload</body></html>", rsc_body=stream),
        "/acme/later": Route(
            body=flight_page("acme/later"),
            fail_first=1,
            fail_status=429,
            fail_headers={"Retry-After": "3600"},
        ),
    }
    site = serve(Site(routes=routes))
    try:
        ctx = SourceContext(
            recipe=None, cache_dir=tmp_path / "cache", key_path=("data", "sources", "dw")
        )
        cfg = config(
            site.base_url, repos=["acme/widgets", "acme/later"], rsc=True, concurrency_per_domain=1
        )
        with pytest.raises(WikikitError, match="rate limited.*3600 s"):
            list(generate("dw", cfg, ctx))
        rsc = [h for (p, _), h in zip(site.log, site.headers, strict=True) if p == "/acme/widgets"]
        assert rsc and all({k.lower(): v for k, v in h.items()}.get("rsc") == "1" for h in rsc)
        status = {r["repo"]: r["status"] for r in ctx.artifacts["deepwiki/dw.json"]["repos"]}
        assert status == {"acme/widgets": "fetched", "acme/later": "pending"}
        # The server lets us in again: the stopped repo is fetched, the other is not asked.
        before = len(site.log)
        examples = list(
            generate(
                "dw",
                cfg,
                SourceContext(
                    recipe=None, cache_dir=tmp_path / "cache", key_path=("data", "sources", "dw")
                ),
            )
        )
        assert [p for p, _ in site.log[before:]] == ["/acme/later"]
        assert {e.repo for e in examples} == {"acme/widgets@0123abcd", "acme/later@0123abcd"}
    finally:
        stop(site)


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "HOME": str(cwd),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_checkout_pins_the_wiki_commit_and_refs_are_verified_there(tmp_path):
    src = tmp_path / "upstream" / "acme" / "widgets"
    (src / "widgets").mkdir(parents=True)
    (src / "widgets" / "app.py").write_text("".join(f"line {i}\n" for i in range(1, 81)))
    (src / "widgets" / "store.py").write_text("".join(f"store {i}\n" for i in range(1, 31)))
    git("init", "-q", "-b", "main", cwd=src)
    git("add", ".", cwd=src)
    git("commit", "-qm", "wiki commit", cwd=src)
    pinned = git("rev-parse", "HEAD", cwd=src)
    # Later commits shrink store.py: only the wiki's commit has lines 10-22.
    (src / "widgets" / "store.py").write_text("store 1\n")
    git("commit", "-qam", "later", cwd=src)
    site = serve(
        Site(
            routes={
                "/robots.txt": Route(body=b"", content_type="text/plain"),
                "/acme/widgets": Route(body=flight_page("acme/widgets", commit=pinned[:8])),
            }
        )
    )
    template = str(tmp_path / "upstream") + "/{owner}/{name}"
    cfg = config(site.base_url, repos=["acme/widgets"], checkout=True, git_url=template)
    try:
        ctx = SourceContext(
            recipe=None, cache_dir=tmp_path / "cache", key_path=("data", "sources", "dw")
        )
        examples = list(generate("dw", cfg, ctx))
    finally:
        stop(site)
    assert {e.repo for e in examples} == {f"acme/widgets@{pinned}"}
    assert ctx.stats["dw"]["repos_checked_out"] == 1
    recipe = SimpleNamespace(data={"data": {"sources": {"dw": cfg}}})
    check = VerifyRefsFilter(RepoIndex(recipe, tmp_path / "cache"))
    arch = next(e for e in examples if e.meta["heading"] == "Architecture")
    assert arch.refs == [Ref("widgets/app.py", 1, 40), Ref("widgets/store.py", 10, 22)]
    assert check.check(arch) is None and check.counts["refs_verified"] == 2
    bad = Example(
        id="x",
        messages=[Message("user", "q"), Message("assistant", "See [widgets/app.py:70-99]()")],
        source="deepwiki",
        category="architecture",
        language="python",
        repo=arch.repo,
        refs=[Ref("widgets/app.py", 70, 99)],
    )
    assert check.check(bad).startswith("bad_ref")
