"""The traceability source over code nobody here wrote (click), re-checked independently."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import click
import pytest
from git_fixtures import commit_all, init_repo

from wikikit.data.sources import SourceContext
from wikikit.data.sources.traceability import generate, summarize_doc
from wikikit.errors import InputError

# The SemanticWiki form, matched here with its own regex (not wikikit.code.refs).
SOURCE_LINE = re.compile(r"\*\*Source:\*\* \[`([^`:]+):(\d+)-(\d+)`\]\(([^)#]+)#L(\d+)-L(\d+)\)")
FENCE = re.compile(r"^(`{3,})(\w*)\n(.*?)\n\1$", re.M | re.S)
NUMBERED = re.compile(r"^ *(\d+) \| (.*)$")


class StandInRecipe:
    """What the source needs from a Recipe: paths relative to the recipe's folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.calls: list[tuple] = []

    def resolve_path(self, value: str, key_path: tuple) -> Path:
        self.calls.append((value, key_path))
        return (self.folder / value).resolve()


def _ctx(tmp_path: Path, seed: int = 0) -> SourceContext:
    return SourceContext(
        recipe=StandInRecipe(tmp_path),  # type: ignore[arg-type]
        cache_dir=tmp_path / "cache",
        seed=seed,
        key_path=("data", "sources", "trace"),
    )


@pytest.fixture(scope="module")
def click_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The installed click package, copied into a fresh git repository."""
    root = tmp_path_factory.mktemp("clickrepo") / "click-src"
    shutil.copytree(
        Path(click.__file__).parent, root / "click", ignore=shutil.ignore_patterns("__pycache__")
    )
    init_repo(root)
    commit_all(root, "import click")
    return root


def _file_lines(root: Path, rel: str) -> list[str]:
    with open(root / rel, encoding="utf-8", newline=None) as fh:  # universal newlines
        text = fh.read()
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _numbered_lines(prompt: str) -> dict[int, str]:
    out = {}
    for line in prompt.split("\n"):
        m = NUMBERED.match(line)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


def _check_example(root: Path, ex) -> None:
    answer = ex.messages[-1].content
    user = ex.messages[0].content
    written = [(p, int(a), int(b)) for p, a, b, *_ in SOURCE_LINE.findall(answer)]
    assert written, ex.id
    for p, a, b, target, la, lb in SOURCE_LINE.findall(answer):
        assert target == p and (la, lb) == (a, b)  # link target agrees with the link text
    assert {(r.path, r.start, r.end) for r in ex.refs} == set(written)
    symbols = {(s["path"], s["start"], s["end"]): s["symbol"] for s in ex.meta["symbols"]}
    shown = _numbered_lines(user)
    for path, start, end in written:
        assert (root / path).is_file(), path
        lines = _file_lines(root, path)
        assert 1 <= start <= end <= len(lines), (path, start, end, len(lines))
        name = symbols[(path, start, end)]
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        assert any(pattern.search(line) for line in lines[start - 1 : end]), (
            path,
            start,
            end,
            name,
        )
        # Every referenced line is visible, with its true number, in the prompt.
        for n in range(start, end + 1):
            assert shown.get(n) == lines[n - 1], (path, n)
    # Every numbered line in the prompt is the real line of the file it names.
    path = ex.meta["path"]
    lines = _file_lines(root, path)
    assert all(lines[n - 1] == text for n, text in shown.items())
    # Code blocks in the answer are verbatim slices of the file, 1-30 lines, right language.
    for _fence, lang, body in FENCE.findall(answer):
        assert lang == "python"
        body_lines = body.split("\n")
        assert 1 <= len(body_lines) <= 30
        joined = "\n".join(lines)
        assert body in joined


def test_click_examples_all_references_resolve(tmp_path: Path, click_repo: Path) -> None:
    ctx = _ctx(tmp_path)
    config = {"kind": "traceability", "repos": [str(click_repo)], "per_file": 50}
    examples = list(generate("trace", config, ctx))
    tasks = {
        t: sum(1 for e in examples if e.meta["task"] == t)
        for t in ("add_refs", "document_component", "where_is")
    }
    assert len(examples) >= 300 and all(n >= 30 for n in tasks.values()), tasks
    for ex in examples:
        _check_example(click_repo, ex)
        assert ex.source == "traceability" and ex.category == "traceability"
        assert ex.language == "python"
        assert re.fullmatch(r"click-src@[0-9a-f]{40}", ex.repo)
        assert [m.role for m in ex.messages] == ["user", "assistant"]
    assert len({e.id for e in examples}) == len(examples)
    stats = ctx.stats["trace"]
    assert stats["files_parsed"] == len([p for p in (click_repo / "click").rglob("*.py")])
    assert stats["ref_rejected"] == 0 and stats["ref_mismatch"] == 0 and stats["ref_not_shown"] == 0
    assert sum(stats[f"examples_{t}"] for t in tasks) == len(examples)
    assert ctx.recipe.calls == [(str(click_repo), ("data", "sources", "trace", "repos", 0))]


def test_document_component_has_snippet_after_reference(tmp_path: Path, click_repo: Path) -> None:
    config = {"repos": [str(click_repo)], "tasks": ["document_component"], "per_file": 3}
    examples = list(generate("trace", config, _ctx(tmp_path)))
    assert examples
    for ex in examples:
        answer = ex.messages[-1].content
        first_ref = SOURCE_LINE.search(answer)
        fence = FENCE.search(answer, first_ref.end())
        assert fence and answer[first_ref.end() : fence.start()].strip() == ""
        assert 5 <= len(fence.group(3).split("\n")) <= 30
        assert "```python\n" in ex.messages[0].content


def test_deterministic_for_a_seed_and_varied_across_seeds(tmp_path: Path, click_repo: Path) -> None:
    config = {"repos": [str(click_repo)], "per_file": 4, "max_examples": 40}

    def run(seed: int) -> list[str]:
        return [e.to_json() for e in generate("trace", config, _ctx(tmp_path, seed))]

    first = run(7)
    assert len(first) == 40
    assert first == run(7)
    other = run(8)
    assert other != first
    assert {json.loads(x)["id"] for x in other} != {json.loads(x)["id"] for x in first}


def test_phrasings_vary(tmp_path: Path, click_repo: Path) -> None:
    config = {"repos": [str(click_repo)], "tasks": ["where_is"], "per_file": 30}
    questions = {
        e.messages[0].content.rsplit("\n", 1)[-1].split("`")[0]
        for e in generate("trace", config, _ctx(tmp_path))
    }
    assert len(questions) >= 5


def test_max_examples_per_file_and_stats(tmp_path: Path, click_repo: Path) -> None:
    ctx = _ctx(tmp_path)
    examples = list(generate("trace", {"repos": [str(click_repo)], "per_file": 2}, ctx))
    per_file: dict[str, int] = {}
    for e in examples:
        per_file[e.meta["path"]] = per_file.get(e.meta["path"], 0) + 1
    assert max(per_file.values()) == 2
    assert ctx.stats["trace"]["repo_files"] >= 16


def test_missing_repo_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"data\.sources\.trace\.repos\.0: repository path not found"
    ):
        list(generate("trace", {"repos": ["does-not-exist"]}, _ctx(tmp_path)))


def test_summarize_doc() -> None:
    doc = "Load the thing.\n\nUses ``cache`` and :func:`open_file`.\n\n:param x: the x\n:return: y"
    assert summarize_doc(doc) == "Load the thing.\n\nUses `cache` and `open_file`."
    assert (
        summarize_doc("Reads the value of it.\n@param a the key\n@returns the value")
        == "Reads the value of it."
    )
    assert (
        summarize_doc("Opens the file for reading:\n\nArgs:\n  x: y")
        == "Opens the file for reading."
    )
    assert summarize_doc(None) is None and summarize_doc("x") is None


MULTI = {
    "web/src/store.ts": """\
/**
 * Keeps session state for the web client and
 * notifies subscribers when it changes.
 */
export class SessionStore {
  private items: Map<string, string> = new Map();

  /** Reads one value from the store by key. */
  get(key: string): string | undefined {
    const value = this.items.get(key);
    return value;
  }
}
""",
    "server/server.go": """\
package server

// Server answers HTTP requests for the wiki API
// and keeps its listener address.
type Server struct {
\tAddr string
\tPort int
\tName string
}

// Run starts the server and blocks until it stops.
func (s *Server) Run() error {
\tif s.Addr == "" {
\t\treturn nil
\t}
\treturn nil
}
""",
    "core/src/main/java/demo/Bank.java": """\
package demo;

/**
 * Keeps customer accounts and their balances
 * in memory for the demo application.
 */
public class Bank {
    /** Opens a new account for the named customer. */
    public Account open(String name) {
        Account account = new Account(name);
        accounts.add(account);
        return account;
    }
}
""",
    "engine/src/lib.rs": """\
/// A point in the plane used by the layout engine.
#[derive(Debug, Clone)]
pub struct Point {
    x: i32,
    y: i32,
    z: i32,
}

impl Point {
    /// Makes the origin point of the layout plane.
    pub fn origin() -> Self {
        let p = Point { x: 0, y: 0, z: 0 };
        p
    }
}
""",
}


def test_multi_language_repository(tmp_path: Path) -> None:
    root = tmp_path / "poly"
    for rel, text in MULTI.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    init_repo(root)
    commit_all(root)
    ctx = _ctx(tmp_path)
    config = {"repos": [{"path": "poly", "name": "poly"}], "per_file": 20}
    examples = list(generate("poly", config, ctx))
    langs = {e.language for e in examples}
    assert langs == {"typescript", "go", "java", "rust"}
    fence_lang = {"typescript": "typescript", "go": "go", "java": "java", "rust": "rust"}
    for ex in examples:
        answer = ex.messages[-1].content
        for p, a, b, *_ in SOURCE_LINE.findall(answer):
            lines = (root / p).read_text().split("\n")
            assert int(b) <= len(lines)
            name = next(
                s["symbol"]
                for s in ex.meta["symbols"]
                if (s["start"], s["end"]) == (int(a), int(b))
            )
            assert name in "\n".join(lines[int(a) - 1 : int(b)])
        for _f, lang, _b in FENCE.findall(answer):
            assert lang == fence_lang[ex.language]
    documented = {
        (e.meta["path"], e.meta["symbols"][0]["symbol"])
        for e in examples
        if e.meta["task"] == "document_component"
    }
    assert ("web/src/store.ts", "SessionStore") in documented
    assert ("server/server.go", "Server") in documented
    assert ("core/src/main/java/demo/Bank.java", "Bank") in documented
    assert ("engine/src/lib.rs", "Point") in documented
    rust_doc = next(
        e for e in examples if e.meta["task"] == "document_component" and e.language == "rust"
    )
    assert "A point in the plane used by the layout engine." in rust_doc.messages[-1].content
    assert (
        "**Source:** [`engine/src/lib.rs:3-7`](engine/src/lib.rs#L3-L7)"
        in rust_doc.messages[-1].content
    )
    only_go = list(generate("poly", {**config, "languages": ["go"]}, _ctx(tmp_path)))
    assert only_go and {e.language for e in only_go} == {"go"}
