"""DeepWiki as it really is: each repository's whole wiki, pinned to the commit it describes.

The entry point is wikikit.deepwiki.fetch:

    from wikikit.deepwiki.fetch import crawl_wikis, fetch_wiki
    from wikikit.deepwiki.settings import FetchSettings
    wiki = fetch_wiki("vasilyaksenov/QCustomPlot")                  # -> Wiki (wiki.py)
    result = crawl_wikis(repos, FetchSettings(transport="mcp"), work_dir)  # hundreds, resumable
    for wiki in result.wikis(): ...                                 # result.statuses: per repo

and wikikit.deepwiki.pin.checkout(wiki, cache_dir, git_url(DEFAULT_GIT_URL, wiki.repo)) clones
the repository at `wiki.commit`.

Modules: flight (the Next.js flight payload: every page from one request), mcp (DeepWiki's MCP
server), spider (the scrapy crawl of the site: one request per repo, page-by-page HTML only
when a page has no payload), html (that fallback: the article only, references repo-relative),
settings (FetchSettings), store (statuses and wikis on disk), polite (throttle, Retry-After), page and markdown (a page's
sections, diagrams, references), chunking (pages into examples), saved (`wikikit deepwiki
parse`), demo_site (the offline demo's site).
"""
