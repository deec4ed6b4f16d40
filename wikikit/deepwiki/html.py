"""Convert a DeepWiki page served as HTML into the markdown form wikikit.deepwiki.page parses.

The last resort, for a page without a flight payload (wikikit.deepwiki.flight carries the real
markdown). What deepwiki.com's HTML is (measured on ../shared/fixtures/deepwiki-real): a Next.js
app with no article/main/nav around the text; the page text sits in `div.prose-custom` under
`#codebase-wiki-repo-page`, and everything else is chrome (the header with "Index your code with
Devin", the sidebar with "Last indexed" and every page's link, "Refresh this wiki", the "On this
page" table of contents). React leaves `<!--$-->`, `<!--$!-->`, `<!--/$-->` comments around
suspense boundaries; each Mermaid diagram is an empty `<pre>` holding only `<template
data-dgst="BAILOUT_TO_CLIENT_SIDE_RENDERING">` (the browser draws it); source references are
`<a href="https://github.com/OWNER/REPO/blob/<sha>/path#L1-L21">` anchors.

So: content comes only from the article container (`.prose-custom`, else article, main, body);
comments and chrome elements are dropped; an empty `<pre>` is a missing diagram, counted and
left out (never an empty fence); a GitHub blob anchor becomes DeepWiki's `[path:1-21]()`
reference with the path relative to the repo (queries such as `?plain=1` dropped, the anchor
text ignored, so text broken over lines loses nothing), a source-file anchor `[path](path)`;
a link to another page of the wiki becomes `[Title](#2.2)` as in the markdown.

Only the structure the parser needs survives: headings, paragraphs, fenced code (the language
from `class="language-..."`, so Mermaid stays Mermaid), lists, tables, quotes, `<details>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

import lxml.html
from lxml import etree

DROP = {
    "script",
    "style",
    "nav",
    "header",
    "footer",
    "noscript",
    "svg",
    "button",
    "form",
    "template",
}
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
INLINE_SPACE = re.compile(r"[ \t\r\n]+")
# Where the page text is, most specific first: deepwiki.com's container, then generic ones.
CONTAINERS = (
    ("prose-custom", "//*[contains(concat(' ', normalize-space(@class), ' '), ' prose-custom ')]"),
    ("article", "//article"),
    ("main", "//main"),
    ("body", "//body"),
)
GITHUB_BLOB = re.compile(
    r"^https?://(?:www\.)?github\.com/[^/?#]+/[^/?#]+/blob/[^/?#]+/(?P<path>[^?#]+)"
    r"(?:\?[^#]*)?(?:#L(?P<start>\d+)(?:C\d+)?(?:-L(?P<end>\d+)(?:C\d+)?)?)?"
)
WIKI_PAGE_LINK = re.compile(
    r"^(?:https?://[^/]+)?/[^/?#]+/[^/?#]+/(?P<id>\d+(?:\.\d+)*)-[^/?#]*/?$"
)
MAX_DEPTH = 200  # lxml stops nesting at 256 levels; stay well inside Python's recursion limit


@dataclass
class HtmlPage:
    markdown: str
    missing_diagrams: int = 0  # empty <pre> placeholders (diagrams drawn in the browser)
    container: str = ""  # which element held the text: prose-custom, article, main, body


def convert_html(html: str) -> HtmlPage:
    if not html.strip():
        return HtmlPage("")
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return HtmlPage("")
    for comment in doc.xpath("//comment()"):
        comment.drop_tree()  # React's suspense markers `$`, `$!`, `/$`; the tail text stays
    doomed = [el for el in doc.iter() if isinstance(el.tag, str) and el.tag.lower() in DROP]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()
    name, root = "document", doc
    for label, xpath in CONTAINERS:
        found = doc.xpath(xpath)
        if found:
            name, root = label, found[0]
            break
    conv = _Converter()
    out: list[str] = []
    conv.blocks(root, out, indent="", depth=0)
    text = "\n\n".join(b for b in out if b.strip())
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return HtmlPage(text + "\n" if text else "", conv.missing_diagrams, name)


def html_to_markdown(html: str) -> str:
    return convert_html(html).markdown


def _tag(el) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


BLOCK_TAGS = set(HEADINGS) | {
    "p",
    "pre",
    "ul",
    "ol",
    "details",
    "hr",
    "blockquote",
    "table",
    "div",
    "section",
}


def _has_blocks(el) -> bool:
    return any(_tag(d) in BLOCK_TAGS for d in el.iterdescendants())


def _flat_text(el) -> str:
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


class _Converter:
    def __init__(self) -> None:
        self.missing_diagrams = 0

    def blocks(self, el, out: list[str], indent: str, depth: int) -> None:
        """Append markdown blocks for el's children; loose inline content becomes a paragraph."""
        inline: list[str] = []

        def flush() -> None:
            text = INLINE_SPACE.sub(" ", "".join(inline)).strip()
            if text:
                out.append(indent + text)
            inline.clear()

        if el.text:
            inline.append(el.text)
        for child in el:
            tag = _tag(child)
            if depth >= MAX_DEPTH:
                inline.append(_flat_text(child))
            elif tag in HEADINGS:
                flush()
                out.append("#" * HEADINGS[tag] + " " + self.inline(child).strip())
            elif tag == "p":
                flush()
                out.append(indent + self.inline(child).strip())
            elif tag == "pre":
                flush()
                block = self.code_block(child)
                if block:
                    out.append(block)
            elif tag in ("ul", "ol"):
                flush()
                out.append(self.list(child, indent, depth + 1))
            elif tag == "details":
                flush()
                out.append("<details>")
                self.blocks(child, out, indent, depth + 1)
                out.append("</details>")
            elif tag == "summary":
                flush()
                out.append(f"<summary>{self.inline(child).strip()}</summary>")
            elif tag == "hr":
                flush()
                out.append("---")
            elif tag == "blockquote":
                flush()
                inner: list[str] = []
                self.blocks(child, inner, "", depth + 1)
                out.append("\n".join("> " + line for b in inner for line in b.split("\n")))
            elif tag == "table":
                flush()
                out.append(self.table(child))
            elif tag in (
                "div",
                "section",
                "article",
                "main",
                "body",
                "figure",
                "span",
            ) and _has_blocks(child):
                flush()
                self.blocks(child, out, indent, depth + 1)
            elif tag:
                inline.append(self.inline(child, depth=depth + 1))
            if child.tail:
                inline.append(child.tail)
        flush()

    def inline(self, el, in_path: bool = False, depth: int = 0) -> str:
        tag = _tag(el)
        if tag == "br":
            return "\n"
        if tag in DROP or tag == "img":
            return ""
        if depth >= MAX_DEPTH:
            return _flat_text(el)
        href = (el.get("href") or "").strip() if tag == "a" else ""
        if tag == "a":
            blob = GITHUB_BLOB.match(href)
            if blob:
                return _reference(blob)
        # DeepWiki's `[a/__init__.py:1-17]()` renders `__init__` as bold: inside a reference's
        # link text, emphasis came from underscores and is turned back into them.
        in_path = in_path or (tag == "a" and not href)
        inner = (el.text or "") + "".join(
            self.inline(c, in_path, depth + 1) + (c.tail or "") for c in el
        )
        if tag == "a":
            page = WIKI_PAGE_LINK.match(href)
            if page:
                href = "#" + page.group("id")
            return f"[{INLINE_SPACE.sub(' ', inner).strip()}]({href})"
        if tag == "code":
            return f"`{inner}`"
        if tag in ("strong", "b"):
            return f"__{inner}__" if in_path else f"**{inner.strip()}**"
        if tag in ("em", "i"):
            return f"_{inner}_" if in_path else f"*{inner.strip()}*"
        return inner

    def code_block(self, pre) -> str:
        code = pre.find(".//code")
        source = code if code is not None else pre
        body = _flat_text(source).rstrip("\n")
        if not body.strip():
            # DeepWiki serves each diagram as an empty <pre> the browser fills in.
            self.missing_diagrams += 1
            return ""
        info = ""
        for cls in ((source.get("class") or "") + " " + (pre.get("class") or "")).split():
            if cls.startswith(("language-", "lang-")):
                info = cls.split("-", 1)[1]
                break
        fence = "````" if "```" in body else "```"
        return f"{fence}{info}\n{body}\n{fence}"

    def list(self, el, indent: str, depth: int) -> str:
        lines = []
        ordered = _tag(el) == "ol"
        for n, item in enumerate((c for c in el if _tag(c) == "li"), start=1):
            marker = f"{n}. " if ordered else "- "
            text_parts = [item.text or ""]
            nested = []
            for c in item:
                if _tag(c) in ("ul", "ol") and depth < MAX_DEPTH:
                    nested.append(self.list(c, indent + "  ", depth + 1))
                else:
                    text_parts.append(self.inline(c, depth=depth + 1))
                text_parts.append(c.tail or "")
            text = INLINE_SPACE.sub(" ", "".join(text_parts)).strip()
            lines.append(indent + marker + text)
            lines.extend(nested)
        return "\n".join(lines)

    def table(self, table) -> str:
        rows = []
        for tr in table.iter("tr"):
            cells = [
                INLINE_SPACE.sub(" ", self.inline(c)).strip().replace("|", "\\|")
                for c in tr
                if _tag(c) in ("td", "th")
            ]
            rows.append("| " + " | ".join(cells) + " |")
        if rows:
            ncols = rows[0].count(" | ") + 1
            rows.insert(1, "|" + " --- |" * ncols)
        return "\n".join(rows)


def _reference(blob: re.Match) -> str:
    """A GitHub blob anchor as DeepWiki's markdown writes it: `[path:1-21]()` or `[path](path)`."""
    path = unquote(blob.group("path")).strip("/")
    start, end = blob.group("start"), blob.group("end")
    if start is None:
        return f"[{path}]({path})"
    if end is None or end == start:
        return f"[{path}:{start}]()"
    return f"[{path}:{start}-{end}]()"
