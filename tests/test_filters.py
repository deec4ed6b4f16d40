"""Each quality filter keeps good examples and drops bad ones with a countable reason."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from wikikit.data.filters import DEFAULTS, MermaidCheck, build_filters, reason_key
from wikikit.data.filters.length import MaxCharsFilter, MaxTokensFilter, MinCharsFilter
from wikikit.data.filters.markdown import MarkdownFilter, markdown_problem
from wikikit.data.filters.references import RepoIndex, RequireRefsFilter, VerifyRefsFilter
from wikikit.data.filters.secrets import SecretsScrubber
from wikikit.errors import WikikitError
from wikikit.example import Example, Message, Ref, ToolCall


def ex(answer: str, category: str = "component", repo: str | None = None, refs=(), **kw) -> Example:
    return Example(
        id="x",
        messages=[Message("user", "Document it."), Message("assistant", answer, **kw)],
        source="test",
        category=category,
        repo=repo,
        refs=list(refs),
    )


def test_min_and_max_chars():
    assert MinCharsFilter(10).check(ex("short")) == "too_short (<10 chars)"
    assert MinCharsFilter(5).check(ex("long enough")) is None
    assert reason_key(MaxCharsFilter(5).check(ex("far too long"))) == "too_long"
    assert MaxCharsFilter(50).check(ex("fine")) is None


def test_max_tokens_uses_the_real_tokenizer():
    text = "token " * 300  # ~300 o200k tokens, 1800 chars
    assert MaxTokensFilter(100).check(ex(text)) == "too_many_tokens (>100)"
    assert MaxTokensFilter(1000).check(ex(text)) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# Title\n\nBody text.\n\n## Part\n\nMore.\n", None),
        ("# Title\n\n```python\nx = 1\n", "unclosed_fence"),
        ("# Title\n\n```python\n# not a heading\n```\n", None),
        ("# Title\n\n## Empty\n\n## Next\n\nText\n", "empty_section"),
        ("# Title\n\nIntro\n\n## Trailing\n\n", "empty_section"),
        ("# Title\n## Sub\n\ntext under sub\n", None),
        ("````md\n```python\ninner\n```\n````\n\nafter\n", None),
        ("~~~\ncode\n```\n", "unclosed_fence"),
    ],
)
def test_markdown_structure(text, problem):
    got = markdown_problem(text)
    assert (reason_key(got) if got else None) == problem
    assert (MarkdownFilter().check(ex(text)) is None) == (problem is None)


def test_require_refs_only_for_documentation_categories():
    f = RequireRefsFilter()
    assert f.check(ex("A component without any reference.")) == "no_refs"
    ok = "Parsing happens here.\n\n**Source:** [`src/a.py:1-3`](src/a.py#L1-L3)"
    assert f.check(ex(ok)) is None
    assert f.check(ex("no refs", refs=[Ref("a.py", 1, 2)])) is None
    assert f.check(ex("Plain answer to a question.", category="qa")) is None


def _git_repo(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("def parse(x):\n    return x\n\n\ndef other():\n    pass\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_verify_refs_against_a_real_repo(tmp_path):
    from wikikit.code.repo import open_repo

    repo = open_repo(
        {"path": str(_git_repo(tmp_path)), "name": "proj"}, tmp_path, tmp_path / "cache"
    )
    index = RepoIndex(SimpleNamespace(data={}), tmp_path / "cache")
    index.add(repo)
    f = VerifyRefsFilter(index)
    good = "Parses input.\n\n**Source:** [`src/a.py:1-2`](src/a.py#L1-L2)"
    assert f.check(ex(good, repo=repo.id)) is None
    past_end = "**Source:** [`src/a.py:1-40`](src/a.py#L1-L40)"
    assert reason_key(f.check(ex(past_end, repo=repo.id))) == "bad_ref"
    missing = "See [`src/nope.py:1-2`](src/nope.py#L1-L2)."
    assert "missing file" in f.check(ex(missing, repo=repo.id))
    declared_bad = ex("text without inline refs", repo=repo.id, refs=[Ref("src/a.py", 5, 99)])
    assert reason_key(f.check(declared_bad)) == "bad_ref"
    # An unknown repository cannot be checked: keep, but count it.
    assert f.check(ex(past_end, repo="elsewhere@abc")) is None
    assert f.counts["repo_unavailable"] == 1
    assert f.counts["refs_verified"] >= 1


def test_secrets_are_redacted_and_counted():
    s = SecretsScrubber()
    e = ex(
        "Set OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz012345 and mail ops@acme-corp.io; "
        "docs use jane@example.com.",
        thinking="The token ghp_" + "a" * 36 + " must not leak.",
        tool_calls=[ToolCall("write_wiki_page", {"content": "aws AKIAABCDEFGHIJKLMNOP"})],
    )
    assert s.check(e) is None  # scrubbing never drops
    answer = e.messages[1]
    assert "sk-proj" not in answer.content and "[REDACTED_OPENAI_KEY]" in answer.content
    assert "ops@acme-corp.io" not in answer.content and "jane@example.com" in answer.content
    assert "ghp_" not in answer.thinking
    assert answer.tool_calls[0].arguments["content"] == "aws [REDACTED_AWS_ACCESS_KEY]"
    assert s.counts == {"openai_key": 1, "email": 1, "github_token": 1, "aws_access_key": 1}
    assert s.scrub('password = "hunter2hunter2hunter2"') == 'password = "[REDACTED_SECRET]"'
    assert s.scrub("plain text about keys and tokens") == "plain text about keys and tokens"


MERMAID = "Flow:\n\n```mermaid\ngraph TD\n  A --> B\n```\n"


@pytest.mark.parametrize(
    "text",
    [
        "plain prose about parsers and routers",
        "mail admin@corp.io",
        "API_KEY = 'x'",
        "my Password is",
        "TOKEN",
        "SeCrEt",
        "ghp_ghX",
        "a github_pat_ here",
        "AKIA",
        "eyJ",
        "x_live_y",
        "\u212aey",  # the Kelvin sign folds to "k" in a case-insensitive regex
        "\u017fecret",  # so does the long s to "s"
        "na\u00efve text with no marker",
        "na\u00efve text, a token",
    ],
)
def test_secret_prefilter_agrees_with_the_regex(text):
    """The fast substring gate says "maybe" whenever the reference regex would."""
    from wikikit.data.filters.secrets import _QUICK, may_hold_secret

    assert may_hold_secret(text) == bool(_QUICK.search(text))


def test_mermaid_unavailable_skip_keeps_and_reports(monkeypatch):
    import wikikit.data.filters as filters_pkg

    def broken(mode):
        raise WikikitError("node not found")

    monkeypatch.setattr(filters_pkg, "_mermaid_filter_class", lambda: broken)
    check = MermaidCheck("must_parse", "skip")
    assert check.check(ex("no diagram here")) is None
    assert check.status == "ok"  # the validator is only started when a diagram appears
    assert check.check(ex(MERMAID)) is None
    assert check.status == "unavailable" and check.counts["unchecked"] == 1


def test_mermaid_unavailable_fail_stops_the_run(monkeypatch):
    import wikikit.data.filters as filters_pkg

    def broken(mode):
        raise WikikitError("node not found")

    monkeypatch.setattr(filters_pkg, "_mermaid_filter_class", lambda: broken)
    with pytest.raises(WikikitError, match="mermaid_unavailable"):
        MermaidCheck("must_parse", "fail").check(ex(MERMAID))


def test_mermaid_check_delegates_to_the_validator(monkeypatch):
    import wikikit.data.filters as filters_pkg

    class Fake:
        def __init__(self, mode):
            self.mode = mode

        def check(self, example):
            return "mermaid_parse_error (line 2)" if "-->>" in example.assistant_text else None

    monkeypatch.setattr(filters_pkg, "_mermaid_filter_class", lambda: Fake)
    check = MermaidCheck("must_parse")
    assert check.check(ex(MERMAID)) is None
    assert reason_key(check.check(ex(MERMAID.replace("-->", "-->>")))) == "mermaid_parse_error"


def test_build_filters_follows_the_recipe():
    ctx = SimpleNamespace(recipe=SimpleNamespace(data={}), cache_dir=Path("/nonexistent"))
    names = [f.name for f in build_filters({}, ctx)]
    assert names == [
        "oversized_piece",
        "control_token_in_text",
        "scrub_secrets",
        "min_chars",
        "local_mode",
        "markdown",
        "require_refs",
        "verify_refs",
        "mermaid",
    ]
    assert DEFAULTS["min_chars"] == 200
    names = [
        f.name
        for f in build_filters(
            {
                "scrub_secrets": False,
                "min_chars": 0,
                "max_chars": 9000,
                "markdown": False,
                "local_mode": False,
                "require_refs": False,
                "verify_refs": False,
                "mermaid": "ignore",
                "max_tokens": 4096,
            },
            ctx,
        )
    ]
    # the first two always run
    assert names == ["oversized_piece", "control_token_in_text", "max_chars", "max_tokens"]


def test_harmony_control_tokens_written_in_text_are_dropped():
    """Code about gpt-oss holds `<|start|>`-like strings that Axolotl's tokenizer would read as
    control tokens: such an example is dropped (the train stage's label check found one)."""
    from wikikit.data.filters.control_tokens import ControlTokenFilter
    from wikikit.example import Example, Message, ToolCall

    f = ControlTokenFilter()

    def one(**kw):
        msg = Message("assistant", kw.pop("content", "fine"), **kw)
        return Example("x", [Message("user", "q"), msg], "s", "qa")

    assert f.check(one()) is None
    assert f.check(one(content="a `<|start|>` b")).startswith("control_token_in_text (<|start|>")
    assert f.check(one(thinking="ends with <|return|>")) is not None
    call = ToolCall("write_wiki_page", {"content": "x<|reserved_200013|>"})
    assert f.check(one(tool_calls=[call])) is not None
    assert f.check(one(content="a <|stat|> or < |end| > is text")) is None
    # every special token of the harmony encoding is caught, none slips through
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    from wikikit.data.filters.control_tokens import CONTROL_TOKEN

    specials = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS).special_tokens_set
    assert len(specials) > 1000
    assert [s for s in specials if not CONTROL_TOKEN.fullmatch(s)] == []
