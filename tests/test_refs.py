"""file:line references: every form parsed, the SemanticWiki format, verification."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from shared_paths import SEMANTICWIKI_PROMPTS

from wikikit.code.refs import (
    RefMatch,
    format_local_ref,
    format_source_ref,
    parse_refs,
    symbol_in_lines,
    verify_ref,
)
from wikikit.code.repo import Repo

DEEPWIKI_DOCS = (
    Path(__file__).resolve().parents[2] / "shared/fixtures/codewikibench/OpenHands/deepwiki/docs"
)


def _triples(refs: list[RefMatch]) -> list[tuple]:
    return [(r.path, r.start, r.end, r.form) for r in refs]


def test_semanticwiki_form_and_round_trip() -> None:
    line = format_source_ref("src/auth/jwt-provider.ts", 23, 67, "../../../")
    assert line == (
        "**Source:** [`src/auth/jwt-provider.ts:23-67`](../../../src/auth/jwt-provider.ts#L23-L67)"
    )
    refs = parse_refs(f"Intro.\n\n{line}\n\n```ts\ncode\n```")
    assert _triples(refs) == [("src/auth/jwt-provider.ts", 23, 67, "semanticwiki")]
    text = f"Intro.\n\n{line}\n"
    assert text[refs[0].span[0] : refs[0].span[1]] == line
    # Range only in the anchor; single-line anchor.
    assert _triples(parse_refs("**Source:** [`a/b.py`](a/b.py#L3-L9)")) == [
        ("a/b.py", 3, 9, "semanticwiki")
    ]
    assert _triples(parse_refs("[`a/b.py:7`](a/b.py#L7)")) == [("a/b.py", 7, 7, "semanticwiki")]


def test_local_form_as_semanticwiki_asks_for_it() -> None:
    assert format_local_ref("src/hooks/useAuth.ts", 42) == (
        "📄 [src/hooks/useAuth.ts:42](../src/hooks/useAuth.ts#L42)"
    )
    text = (
        "Holds items 📄 [shop/cart.py:12](../shop/cart.py#L12), quoted by "
        "`📄 [shop/pricing.py:37](../shop/pricing.py#L37)` (📄 [a/b.ts:3](../a/b.ts#L3))."
    )
    assert _triples(parse_refs(text)) == [
        ("shop/cart.py", 12, 12, "local"),
        ("shop/pricing.py", 37, 37, "local"),
        ("a/b.ts", 3, 3, "local"),
    ]
    # A target that disagrees with the text is no local reference: the link's target wins.
    assert _triples(parse_refs("📄 [a.py:3](../b.py#L9)")) == [("b.py", 9, 9, "plain")]


def test_local_form_in_the_real_prompts_example() -> None:
    # The example SemanticWiki itself gives in every page prompt parses as one local ref.
    if SEMANTICWIKI_PROMPTS is None:
        pytest.skip("needs ../shared (captured SemanticWiki prompts)")
    user = (SEMANTICWIKI_PROMPTS / "with-rag" / "002-page.user.txt").read_text(encoding="utf-8")
    example = re.search(r"Example: `(📄 [^`]+)`", user).group(1)
    assert _triples(parse_refs(example)) == [("src/hooks/useAuth.ts", 42, 42, "local")]


def test_deepwiki_forms() -> None:
    text = (
        "Sources: [README.md:49-131](), [Development.md:11-22](), [Makefile:14]()\n"
        "**Sources**: [openhands/integrations/provider.py:105-689]()\n"
        "| `State` | [openhands/controller/state/state.py]() | persistence |\n"
        "| Defaults | [openhands/core/config/]() | lowest |\n"
        "See [Agent System](#3) and [docs](https://example.com/x)."
    )
    assert _triples(parse_refs(text)) == [
        ("README.md", 49, 131, "deepwiki"),
        ("Development.md", 11, 22, "deepwiki"),
        ("Makefile", 14, 14, "deepwiki"),
        ("openhands/integrations/provider.py", 105, 689, "deepwiki"),
    ]
    unranged = [r for r in parse_refs(text, include_unranged=True) if not r.ranged]
    assert [(r.path, r.start, r.end) for r in unranged] == [
        ("openhands/controller/state/state.py", None, None),
        ("openhands/core/config/", None, None),
    ]


def test_plain_forms() -> None:
    text = (
        "The loop is in `openhands/core/loop.py:12-40`; the entry is `main.py:7`.\n"
        "See [provider](../../src/provider.ts#L5-L9) and the node label (core/setup.py:150).\n"
        "GitHub: [x](https://github.com/o/r/blob/abc123/pkg/mod.go#L10-L20)\n"
        "Not refs: http://example.com/a.py:12, 127.0.0.1:8080, `localhost:3000`, ratio 3:4."
    )
    assert _triples(parse_refs(text)) == [
        ("openhands/core/loop.py", 12, 40, "plain"),
        ("main.py", 7, 7, "plain"),
        ("src/provider.ts", 5, 9, "plain"),
        ("core/setup.py", 150, 150, "plain"),
        ("pkg/mod.go", 10, 20, "plain"),
    ]


def test_no_reference_is_counted_twice() -> None:
    line = format_source_ref("a.py", 1, 2)
    refs = parse_refs(line + "\n" + line)
    assert len(refs) == 2 and all(r.form == "semanticwiki" for r in refs)


@pytest.mark.skipif(
    not DEEPWIKI_DOCS.is_dir(), reason="../shared fixtures are not in this checkout"
)
def test_real_deepwiki_pages_every_empty_link_is_parsed() -> None:
    pages = sorted(DEEPWIKI_DOCS.glob("*.md"))
    assert len(pages) == 20
    ranged_total = 0
    for page in pages:
        text = page.read_text()
        everything = parse_refs(text, include_unranged=True)
        deepwiki = [r for r in everything if r.form == "deepwiki"]
        # Independent count: every `[...]()` link on these pages is a file reference.
        assert len(deepwiki) == len(re.findall(r"\[[^\]]+\]\(\)", text)), page.name
        ranged = parse_refs(text)
        assert all(r.start is not None and r.end >= r.start for r in ranged)
        assert all(r.start is None for r in everything if r not in ranged)
        for r in ranged:  # the written text of each ranged ref names its own path and start
            assert r.path in text[r.span[0] : r.span[1]]
            assert str(r.start) in text[r.span[0] : r.span[1]]
        ranged_total += sum(1 for r in deepwiki if r.ranged)
    assert ranged_total == 433  # grep -o '\[[^]]*:[0-9][^]]*\]()' over the 20 pages


def test_symbol_in_lines() -> None:
    assert symbol_in_lines("verify_token", ["    def verify_token(self):"])
    assert symbol_in_lines("JwtProvider.verify_token", ["def verify_token():"])
    assert symbol_in_lines("ns::Widget::size", ["int size() const"])
    assert not symbol_in_lines("token", ["def verify_token():"])
    assert not symbol_in_lines("", ["x"])


def test_verify_ref(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "jwt.py").write_text(
        "import os\n\nclass Jwt:\n    def verify(self):\n        return 1\n"
    )
    repo = Repo(tmp_path, "r")
    assert verify_ref(repo, "src/jwt.py", 3, 5, "Jwt") is None
    assert verify_ref(repo, "./src/jwt.py", 4, 4, "verify") is None
    assert verify_ref(repo, "src/jwt.py", 3, 5) is None
    assert verify_ref(repo, "src/nope.py", 1, 2) == "missing file"
    assert verify_ref(repo, "../etc/passwd", 1, 2) == "missing file"
    assert verify_ref(repo, "src/jwt.py", 4, 9) == "range outside file (5 lines)"
    assert verify_ref(repo, "src/jwt.py", 0, 2) == "invalid range 0-2"
    assert verify_ref(repo, "src/jwt.py", 5, 4) == "invalid range 5-4"
    assert verify_ref(repo, "src/jwt.py", 1, 2, "Jwt") == "symbol Jwt not in lines 1-2"
    assert verify_ref(repo, "src/jwt.py", None, None) == "no line range"
