"""Mermaid validation through the real parser: every diagram type, failures, crashes, timeouts.

These start Node workers (`make setup` runs npm ci in wikikit/mermaid). A worker started with
WIKIKIT_MERMAID_TEST_HOOKS=1 treats the diagram text "%%wikikit-test:hang" as one that spins
forever and "%%wikikit-test:exit" as one that kills the worker (see worker.mjs): no real diagram
hangs Mermaid reliably, and a self-kill makes the crash path deterministic.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from wikikit.errors import WikikitError
from wikikit.example import Example, Message
from wikikit.mermaid import (
    EMPTY,
    PARSE_ERROR,
    TIMEOUT,
    UNKNOWN_TYPE,
    UNTERMINATED_FENCE,
    WORKER_CRASH,
    check_files,
    extract_mermaid_blocks,
    shutdown,
    validate,
    validate_blocks,
)
from wikikit.mermaid.client import MermaidValidator, NodeWorker

DEEPWIKI_DOCS = (
    Path(__file__).parents[2]
    / "shared"
    / "fixtures"
    / "codewikibench"
    / "OpenHands"
    / "deepwiki"
    / "docs"
)
TEST_HOOKS = {"WIKIKIT_MERMAID_TEST_HOOKS": "1"}

# (name, valid diagram, Mermaid's type id, broken diagram, the line Mermaid blames or None)
DIAGRAMS = [
    (
        "flowchart",
        "flowchart TD\n  A[Start] --> B{Ok?}\n  B -->|yes| C[Done]\n  B -->|no| D[Retry]\n  D --> A",
        "flowchart-v2",
        "flowchart TD\n  A[Start] --> B{Ok?\n  B -->|yes| C",
        3,
    ),
    (
        "graph",
        'graph LR\n  subgraph "Core"\n    Ctl["Controller<br/>(agent.py)"] --> Ev[EventStream]\n  end\n  Ev --> Rt',
        "flowchart-v2",
        "graph TD\n  A --> B\n  B --> C[oops\n  C --> D",
        5,
    ),
    (
        "sequenceDiagram",
        "sequenceDiagram\n  participant U as User\n  U->>S: request\n  S-->>U: response\n  Note over U,S: done",
        "sequence",
        "sequenceDiagram\n  participant A\n  A->>B Hello",
        3,
    ),
    (
        "classDiagram",
        "classDiagram\n  class Animal {\n    +String name\n    +eat() void\n  }\n  Animal <|-- Dog",
        "classDiagram",
        "classDiagram\n  class Animal {\n    +String name\n  Animal <|-- Dog",
        4,
    ),
    (
        "stateDiagram-v2",
        "stateDiagram-v2\n  [*] --> Idle\n  Idle --> Running: start\n  Running --> [*]",
        "stateDiagram",
        "stateDiagram-v2\n  [*] --> Idle\n  state Running {\n    A --> B\n",
        4,
    ),
    (
        "erDiagram",
        "erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER ||--|{ LINE_ITEM : contains",
        "er",
        "erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER }|..|{ : contains",
        3,
    ),
    (
        "gantt",
        "gantt\n  title Plan\n  dateFormat YYYY-MM-DD\n  section Build\n  Parser :a1, 2024-01-01, 3d\n  Tests :after a1, 2d",
        "gantt",
        "gantt\n  title Plan\n  dateFormat YYYY-MM-DD\n  section Build\n  Parser",
        5,
    ),
    (
        "pie",
        'pie title Languages\n  "Python" : 60\n  "TypeScript" : 40',
        "pie",
        'pie title Pets\n  "Dogs" : 386\n  "Cats" : abc',
        3,
    ),
    (
        "mindmap",
        "mindmap\n  root((wikikit))\n    data\n      sources\n    train\n    eval",
        "mindmap",
        "mindmap\n  root((Root))\n    A[unclosed\n    B",
        5,
    ),
    (
        "journey",
        "journey\n  title Onboarding\n  section Read\n    Open wiki: 5: Dev\n    Find module: 3: Dev",
        "journey",
        "journey\n  title My day\n  section Go\n    Make tea 5 Me",
        4,
    ),
]
IDS = [d[0] for d in DIAGRAMS]


@pytest.fixture(scope="module")
def hooked() -> MermaidValidator:
    """A private pool whose workers honour the test-only hang/exit diagrams."""
    validator = MermaidValidator(max_workers=1, extra_env=TEST_HOOKS)
    yield validator
    validator.close()


@pytest.mark.parametrize(("name", "good", "type_id", "bad", "bad_line"), DIAGRAMS, ids=IDS)
def test_valid_diagram_of_every_type_parses(name, good, type_id, bad, bad_line):
    (result,) = validate([good])
    assert result.ok, result
    assert result.kind == "ok"
    assert result.diagram_type == type_id
    assert result.error_line is None


@pytest.mark.parametrize(("name", "good", "type_id", "bad", "bad_line"), DIAGRAMS, ids=IDS)
def test_broken_diagram_of_every_type_is_a_parse_error_with_its_line(
    name, good, type_id, bad, bad_line
):
    (result,) = validate([bad])
    assert not result.ok
    assert result.kind == PARSE_ERROR
    assert result.error_line == bad_line
    assert f"line {bad_line}" in result.message
    assert result.diagram_type is not None  # the type is still detected for the report


def test_other_failure_kinds():
    unknown, empty, blank = validate(["flowchat TD\n  A-->B", "", "  \n\t\n"])
    assert (unknown.ok, unknown.kind, unknown.diagram_type) == (False, UNKNOWN_TYPE, None)
    assert "No diagram type detected" in unknown.message
    assert (empty.kind, blank.kind) == (EMPTY, EMPTY)
    blocks = extract_mermaid_blocks(
        "```mermaid\ngraph TD\n  A-->B\n```\n\n```mermaid\ngraph TD\n  A-->B\n"
    )
    closed, open_ = validate_blocks(blocks)
    assert closed.ok
    assert (open_.ok, open_.kind) == (False, UNTERMINATED_FENCE)


def test_a_mixed_batch_keeps_its_order():
    texts = [d[1] if k % 2 == 0 else d[3] for k, d in enumerate(DIAGRAMS * 3)]
    results = validate(texts)
    assert [r.ok for r in results] == [k % 2 == 0 for k in range(len(texts))]


@pytest.mark.slow
def test_verdicts_are_cached_by_text_and_repeats_parse_once():
    validator = MermaidValidator(max_workers=1)
    try:
        a, b = DIAGRAMS[6][1], DIAGRAMS[6][3]
        first = validator.validate([a, b, a])
        assert [r.ok for r in first] == [True, False, True]
        assert validator.parsed == 2
        assert validator.validate([b, a]) == [first[1], first[0]]
        assert validator.parsed == 2
    finally:
        validator.close()


@pytest.mark.slow
def test_a_batch_split_across_two_workers_keeps_its_order():
    validator = MermaidValidator(max_workers=2, cache_size=0)
    try:
        texts = [f"{d[1] if k % 3 else d[3]}\n%% {k}" for k, d in enumerate(DIAGRAMS * 20)]
        results = validator.validate(texts, timeout_s=60)
        assert [r.ok for r in results] == [k % 3 != 0 for k in range(len(texts))]
        assert all(w is not None and w.alive() for w in validator._workers)  # both were used
    finally:
        validator.close()


@pytest.mark.slow
def test_a_hanging_diagram_times_out_without_stalling_the_others(hooked):
    good = DIAGRAMS[0][1]
    start = time.monotonic()
    results = hooked.validate(
        [good, "%%wikikit-test:hang", good, DIAGRAMS[2][3], good], timeout_s=2.0
    )
    elapsed = time.monotonic() - start
    assert [r.kind for r in results] == ["ok", TIMEOUT, "ok", PARSE_ERROR, "ok"]
    assert not results[1].ok and "2s" in results[1].message
    assert elapsed < 30  # one timeout plus one worker restart, not a stall
    assert hooked.worker(0).alive()


@pytest.mark.slow
def test_a_diagram_that_kills_the_worker_twice_is_reported_and_the_rest_complete(hooked):
    good = DIAGRAMS[3][1]
    before = hooked.restarts
    results = hooked.validate([good, "%%wikikit-test:exit", good, good], timeout_s=30)
    assert [r.kind for r in results] == ["ok", WORKER_CRASH, "ok", "ok"]
    assert hooked.restarts >= before + 1


@pytest.mark.slow
def test_a_worker_killed_mid_batch_is_restarted_and_the_batch_completes():
    validator = MermaidValidator(max_workers=1)
    try:
        first = validator.worker(0).pid
        texts = [f"flowchart LR\n  A{k} --> B{k}\n  B{k} --> C{k}" for k in range(8000)]
        out: dict = {}
        runner = threading.Thread(
            target=lambda: out.update(results=validator.validate(texts, timeout_s=30))
        )
        runner.start()
        time.sleep(0.5)  # well inside the batch: 8000 diagrams take several seconds even at 2,000/s
        os.kill(first, signal.SIGKILL)
        runner.join(timeout=300)
        assert not runner.is_alive()
        results = out["results"]
        assert len(results) == 8000
        assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
        assert validator.restarts == 1
        assert validator.worker(0).pid != first
    finally:
        validator.close()


@pytest.mark.slow
def test_worker_reports_the_pinned_mermaid_and_its_fast_path():
    worker = NodeWorker()
    try:
        assert worker.mermaid_version == "11.17.2"
        assert worker.fast  # fast_config_hooks.mjs found what it patches in this Mermaid
    finally:
        worker.close()
    assert not worker.alive()


@pytest.mark.slow
def test_fast_path_gives_the_same_verdicts_as_untouched_mermaid():
    texts = [d[1] for d in DIAGRAMS] + [d[3] for d in DIAGRAMS] + ["flowchat TD\n  A-->B"]
    if DEEPWIKI_DOCS.is_dir():
        texts += [
            b.text
            for f in sorted(DEEPWIKI_DOCS.glob("*.md"))
            for b in extract_mermaid_blocks(f.read_text())
        ]
    plain = MermaidValidator(max_workers=1, extra_env={"WIKIKIT_MERMAID_FAST": "0"})
    verified = MermaidValidator(max_workers=1, extra_env={"WIKIKIT_MERMAID_VERIFY": "1"})
    try:
        assert not plain.worker(0).fast
        expected = plain.validate(texts, timeout_s=60)
        got = verified.validate(texts, timeout_s=60)
        assert got == expected
        stats = verified.worker(0).request({"op": "stats"})
        assert stats["fast"] and stats["verify"]
        assert stats["mismatches"] == 0  # every fast config copy/reuse equalled the original's
        assert stats["sanitizeMismatches"] == 0  # every label shortcut equalled DOMPurify's
        assert stats["sanitizeShortcuts"] > 0 and stats["memoVerified"] > 0
        assert stats["disagreements"] == 0  # no failure the untouched code would have accepted
        assert stats["rechecks"] == sum(not r.ok for r in expected if r.kind != UNKNOWN_TYPE) + 1
    finally:
        plain.close()
        verified.close()


# Labels that exercise Mermaid's label sanitising (DOMPurify) and its shortcut in
# fast_sanitize.mjs: line breaks in every spelling, other markup, entities, characters the HTML
# parser or serialiser changes, and plain text.
LABELS = [
    "plain text",
    "Module<br/>(pkg/m.py)",
    "A<BR>B",
    "x<br >y",
    "x<br\t/>y",
    "  lead<br/>",
    "a<br/><br/>b",
    "tail<br/>",
    "<br/ >odd",
    "</br>close",
    "a <b>bold</b> b",
    "<i>it</i>",
    "a &amp; b",
    "a & b",
    "x > y",
    "x < y",
    "<script>alert(1)</script>ok",
    "<style>p{}</style>x",
    '<a href="http://x" target="_blank">link</a>',
    "&lt;T&gt;",
    "nbsp\u00a0here",
    "emoji \U0001f680",
    "<img src=x onerror=alert(1)>",
    "List<String>",
    "Map<K, V>",
    "#quot;q#quot;",
    "fa:fa-car car",
    "`md **bold**`",
    "<!-- c -->c",
    "<u>u</u><br>v",
    "<code>run()</code>",
    "H<sub>2</sub>O",
    "&nbsp;",
    "&#60;x",
    "caf\u00e9<br/>cr\u00e8me",
]


def _label_diagrams(rng) -> list[str]:
    """One diagram of each type with random labels in the places each type takes text."""
    lab = [rng.choice(LABELS) for _ in range(12)]
    q = [x.replace('"', "#quot;") for x in lab]
    n = rng.randint(3, 12)
    flow = ["flowchart " + rng.choice(["TD", "LR"])]
    for i in range(n):
        shape = rng.choice(['["{}"]', "[{}]", '("{}")', '{{"{}"}}'])
        flow.append(f"  N{i}{shape.format(q[i % 12])} -->|{lab[(i + 1) % 12]}| N{i + 1}")
    if rng.random() < 0.3:
        flow.insert(1, '  subgraph S["' + q[0] + '"]')
        flow.append("  end")
    seq = ["sequenceDiagram", "  participant A as " + lab[0], "  participant B"]
    seq += [f"  A->>B: {lab[i % 12]}" for i in range(n)] + [f"  Note over A,B: {lab[1]}"]
    cls = ["classDiagram", f'  class C0["{q[2]}"]']
    cls += [f"  class C{i} {{\n    +{lab[i % 12]} f{i}\n    +run() void\n  }}" for i in range(n)]
    cls += [f"  C{i} <|-- C{i + 1} : {lab[(i + 3) % 12]}" for i in range(n - 1)]
    state = ["stateDiagram-v2", "  [*] --> S0", f'  state "{q[3]}" as S1']
    state += [f"  S{i} --> S{i + 1}: {lab[i % 12]}" for i in range(n)]
    er = ["erDiagram"] + [f'  E{i} ||--o{{ E{i + 1} : "{q[i % 12]}"' for i in range(n)]
    gantt = ["gantt", f"  title {lab[4]}", "  dateFormat YYYY-MM-DD", f"  section {lab[5]}"]
    gantt += [f"  {lab[i % 12]} :t{i}, 2024-01-{i % 28 + 1:02d}, 2d" for i in range(n)]
    pie = [f"pie title {lab[6]}"] + [f'  "{q[i % 12]}" : {i + 1}' for i in range(n)]
    mind = ["mindmap", f"  root(({lab[7]}))"] + [f"    n{i}[{lab[i % 12]}]" for i in range(n)]
    journey = ["journey", f"  title {lab[8]}", f"  section {lab[9]}"]
    journey += [f"    {lab[i % 12]}: {i % 5 + 1}: Dev" for i in range(n)]
    return ["\n".join(d) for d in (flow, seq, cls, state, er, gantt, pie, mind, journey)]


def _break(rng, text: str) -> str:
    """A likely broken variant: a line cut short, a bracket or arrow lost, junk inserted."""
    lines = text.split("\n")
    k = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
    how = rng.randrange(4)
    if how == 0:
        lines[k] = lines[k][: max(1, len(lines[k]) // 2)]
    elif how == 1:
        for ch in '])}"|':
            if ch in lines[k]:
                lines[k] = lines[k].replace(ch, "", 1)
                break
    elif how == 2:
        lines[k] = lines[k].replace("-->", "-- >").replace("->>", "->").replace("--", "~")
    else:
        lines.insert(k, rng.choice(["  ]]", "  -->", "  :::", '  "open', "  end", "  {"]))
    return "\n".join(lines)


def generated_corpus(n: int, seed: int = 4) -> list[str]:
    """n diagrams of all nine types, about a third broken, labels full of markup."""
    import random

    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        for text in _label_diagrams(rng):
            out.append(_break(rng, text) if rng.random() < 0.35 else text)
    return [f"{t}\n%% {k}" for k, t in enumerate(out[:n])]


@pytest.mark.slow
def test_fast_path_verdicts_equal_untouched_mermaid_on_a_generated_corpus():
    """Every shortcut (config memo, label sanitiser) against the untouched code, on diagrams
    built to hit them: same Result for every diagram, and in verify mode every shortcut answer
    was also computed the original way and was equal."""
    texts = generated_corpus(int(os.environ.get("WIKIKIT_MERMAID_CORPUS", "1800")))
    plain = MermaidValidator(max_workers=1, extra_env={"WIKIKIT_MERMAID_FAST": "0"}, cache_size=0)
    verified = MermaidValidator(
        max_workers=1, extra_env={"WIKIKIT_MERMAID_VERIFY": "1"}, cache_size=0
    )
    try:
        out: dict = {}
        other = threading.Thread(target=lambda: out.update(e=plain.validate(texts, 120)))
        other.start()  # the two run at once, one per core
        got = verified.validate(texts, timeout_s=120)
        other.join()
        expected = out["e"]
        assert got == expected, [
            (t, g, e) for t, g, e in zip(texts, got, expected, strict=True) if g != e
        ][:3]
        valid = sum(r.ok for r in expected)
        assert 0.3 * len(texts) < valid < 0.95 * len(texts)  # both verdicts well represented
        assert {r.diagram_type for r in expected if r.ok} >= {
            "flowchart-v2", "sequence", "classDiagram", "stateDiagram", "er", "gantt", "pie",
            "mindmap", "journey",
        }  # fmt: skip
        stats = verified.worker(0).request({"op": "stats"})
        assert stats["fast"] and stats["verify"]
        assert stats["sanitizeShortcuts"] > 1000 and stats["sanitizeMismatches"] == 0
        assert stats["memoVerified"] > len(texts) and stats["mismatches"] == 0
        assert stats["disagreements"] == 0
    finally:
        plain.close()
        verified.close()


def test_missing_node_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(WikikitError, match="node"):
        NodeWorker()


def test_shutdown_stops_the_shared_workers_and_validate_restarts_them():
    validate([DIAGRAMS[0][1]])
    from wikikit import mermaid

    worker = mermaid._validator().worker(0)
    shutdown()
    assert not worker.alive()
    assert validate([DIAGRAMS[0][1]])[0].ok


# --- check_files (the `wikikit mermaid check` command) ---


def test_check_files_prints_one_line_per_diagram(tmp_path, capsys):
    good = tmp_path / "good.md"
    good.write_text(
        f"# A\n\n```mermaid\n{DIAGRAMS[0][1]}\n```\n\ntext\n\n~~~mermaid\n{DIAGRAMS[2][1]}\n~~~\n"
    )
    bad = tmp_path / "bad.md"
    bad.write_text(
        f"intro\n```mermaid\n{DIAGRAMS[0][3]}\n```\n```mermaid\n```\n```mermaid\nflowchat\n```\n```mermaid\ngraph TD\n"
    )
    assert check_files([str(good)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{good}:3: ok flowchart",
        f"{good}:13: ok sequenceDiagram",
    ]
    assert check_files([str(good), str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    assert lines[2].startswith(f"{bad}:2: error: parse error (flowchart): Parse error on line 3")
    assert lines[2].endswith("[file line 5]")  # fence on line 2, diagram line 3
    assert lines[3] == f"{bad}:7: error: empty mermaid block"
    assert lines[4].startswith(f"{bad}:9: error: unknown diagram type")
    assert lines[5].startswith(f"{bad}:12: error: unterminated mermaid fence")


def test_check_files_unreadable_file_exits_2_and_still_checks_the_rest(tmp_path, capsys):
    good = tmp_path / "good.md"
    good.write_text(f"```mermaid\n{DIAGRAMS[1][1]}\n```\n")
    missing = tmp_path / "missing.md"
    assert check_files([str(missing), str(good)]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{good}:1: ok flowchart"]
    assert str(missing) in captured.err and "cannot read" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.skipif(
    not DEEPWIKI_DOCS.is_dir(), reason="../shared fixtures are not in this checkout"
)
def test_check_files_over_the_real_deepwiki_pages(capsys):
    pages = sorted(str(p) for p in DEEPWIKI_DOCS.glob("*.md"))
    assert len(pages) == 20
    blocks = {(p, b.line) for p in pages for b in extract_mermaid_blocks(Path(p).read_text())}
    code = check_files(pages)
    lines = capsys.readouterr().out.splitlines()
    verdicts = {}
    for line in lines:
        path, lineno, verdict = line.split(":", 2)
        verdicts[(path, int(lineno))] = verdict.strip()
    assert set(verdicts) == blocks  # every block got exactly one verdict
    assert len(blocks) > 100
    assert all(v.startswith("ok ") or v.startswith("error: ") for v in verdicts.values())
    assert code == (1 if any(v.startswith("error") for v in verdicts.values()) else 0)


# --- the quality filter ---


def _example(text: str) -> Example:
    return Example(
        id="x",
        messages=[Message("user", "Explain the architecture."), Message("assistant", text)],
        source="test",
        category="architecture",
    )


def test_filter_must_parse_drops_the_first_bad_block_with_its_reason():
    from wikikit.data.filters.mermaid import MermaidFilter

    f = MermaidFilter("must_parse")
    assert f.name == "mermaid"
    assert f.check(_example("No diagrams here.")) is None
    assert f.check(_example(f"Overview\n\n```mermaid\n{DIAGRAMS[4][1]}\n```\n")) is None
    text = f"```mermaid\n{DIAGRAMS[0][1]}\n```\n\n```mermaid\n{DIAGRAMS[0][3]}\n```\n"
    assert f.check(_example(text)) == "mermaid (parse error line 3, flowchart)"
    assert f.check(_example("```mermaid\ngraph TD\n  A-->B\n")) == "mermaid (unterminated fence)"
    assert f.counts["blocks"] == 4 and f.counts["invalid_blocks"] == 2


def test_filter_warn_keeps_and_counts(capsys):
    from wikikit.data.filters.mermaid import MermaidFilter

    f = MermaidFilter("warn")
    assert f.check(_example(f"```mermaid\n{DIAGRAMS[5][3]}\n```\n")) is None
    assert f.counts["invalid_kept"] == 1
    assert "mermaid (parse error line 3, erDiagram)" in capsys.readouterr().err


def test_filter_raises_when_the_worker_cannot_start(monkeypatch):
    from wikikit.data.filters.mermaid import MermaidFilter

    shutdown()  # the shared pool must start afresh to notice
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(WikikitError, match="unavailable"):
        MermaidFilter("must_parse")
    assert MermaidFilter("ignore").check(_example("```mermaid\nflowchat\n```\n")) is None
