"""Convert a DeepWiki page served as HTML into the markdown form wikikit.deepwiki.page parses.

Only the structure the parser needs survives: headings, paragraphs, fenced code (with the
language taken from `class="language-..."`, so Mermaid stays Mermaid), lists, tables, quotes,
`<details>` blocks and links (an empty href keeps DeepWiki's `[path:1-2]()` reference form).
Navigation, headers, footers, scripts and rendered SVG are dropped.
"""

from __future__ import annotations

import re

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


def html_to_markdown(html: str) -> str:
    if not html.strip():
        return ""
    doc = lxml.html.document_fromstring(html)
    doomed = [el for el in doc.iter() if isinstance(el.tag, str) and el.tag.lower() in DROP]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()
    root = next(
        (r for r in (_first(doc, t) for t in ("article", "main", "body")) if r is not None), doc
    )
    out: list[str] = []
    _blocks(root, out, indent="")
    text = "\n\n".join(b for b in out if b.strip())
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _first(doc, tag: str):
    found = doc.xpath(f"//{tag}")
    return found[0] if found else None


def _tag(el) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _blocks(el, out: list[str], indent: str) -> None:
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
        if tag in HEADINGS:
            flush()
            out.append("#" * HEADINGS[tag] + " " + _inline(child).strip())
        elif tag == "p":
            flush()
            out.append(indent + _inline(child).strip())
        elif tag == "pre":
            flush()
            out.append(_code_block(child))
        elif tag in ("ul", "ol"):
            flush()
            out.append(_list(child, indent))
        elif tag == "details":
            flush()
            out.append("<details>")
            _blocks(child, out, indent)
            out.append("</details>")
        elif tag == "summary":
            flush()
            out.append(f"<summary>{_inline(child).strip()}</summary>")
        elif tag == "hr":
            flush()
            out.append("---")
        elif tag == "blockquote":
            flush()
            inner: list[str] = []
            _blocks(child, inner, "")
            out.append("\n".join("> " + line for b in inner for line in b.split("\n")))
        elif tag == "table":
            flush()
            out.append(_table(child))
        elif tag in ("div", "section", "article", "main", "body", "figure", "span") and _has_blocks(
            child
        ):
            flush()
            _blocks(child, out, indent)
        elif tag:
            inline.append(_inline(child))
        if child.tail:
            inline.append(child.tail)
    flush()


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


def _inline(el, in_path: bool = False) -> str:
    tag = _tag(el)
    if tag == "br":
        return "\n"
    if tag in DROP or tag == "img":
        return ""
    # DeepWiki's `[a/__init__.py:1-17]()` renders `__init__` as bold: inside a reference's
    # link text, emphasis came from underscores and is turned back into them.
    in_path = in_path or (tag == "a" and not el.get("href"))
    inner = (el.text or "") + "".join(_inline(c, in_path) + (c.tail or "") for c in el)
    if tag == "a":
        href = el.get("href") or ""
        return f"[{inner.strip()}]({href})"
    if tag == "code":
        return f"`{inner}`"
    if tag in ("strong", "b"):
        return f"__{inner}__" if in_path else f"**{inner.strip()}**"
    if tag in ("em", "i"):
        return f"_{inner}_" if in_path else f"*{inner.strip()}*"
    return inner


def _code_block(pre) -> str:
    code = pre.find(".//code")
    source = code if code is not None else pre
    info = ""
    for cls in ((source.get("class") or "") + " " + (pre.get("class") or "")).split():
        if cls.startswith(("language-", "lang-")):
            info = cls.split("-", 1)[1]
            break
    body = etree.tostring(source, method="text", encoding="unicode", with_tail=False).rstrip("\n")
    fence = "````" if "```" in body else "```"
    return f"{fence}{info}\n{body}\n{fence}"


def _list(el, indent: str) -> str:
    lines = []
    ordered = _tag(el) == "ol"
    for n, item in enumerate((c for c in el if _tag(c) == "li"), start=1):
        marker = f"{n}. " if ordered else "- "
        text_parts = [item.text or ""]
        nested = []
        for c in item:
            if _tag(c) in ("ul", "ol"):
                nested.append(_list(c, indent + "  "))
            elif _tag(c) == "p":
                text_parts.append(_inline(c))
            else:
                text_parts.append(_inline(c))
            text_parts.append(c.tail or "")
        text = INLINE_SPACE.sub(" ", "".join(text_parts)).strip()
        lines.append(indent + marker + text)
        lines.extend(nested)
    return "\n".join(lines)


def _table(table) -> str:
    rows = []
    for tr in table.iter("tr"):
        cells = [
            INLINE_SPACE.sub(" ", _inline(c)).strip().replace("|", "\\|")
            for c in tr
            if _tag(c) in ("td", "th")
        ]
        rows.append("| " + " | ".join(cells) + " |")
    if rows:
        ncols = rows[0].count(" | ") + 1
        rows.insert(1, "|" + " --- |" * ncols)
    return "\n".join(rows)
