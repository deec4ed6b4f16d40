"""Rendering = deployment: the training text of a SemanticWiki call is, token for token, what the
runtime the recipe targets feeds the model.

- node-llama-cpp (bundled mode): equal to the prompts captured from a real run of the vendored
  client (../shared/fixtures/semanticwiki-prompts/*/NNN-*.rendered.txt), dates masked;
- Ollama: equal to the Modelfile TEMPLATE rendered by Go's text/template as Ollama does (tests/go).
The data stage's `text` (openai-harmony + wikikit/semanticwiki/runtimes.py) and the Jinja template
Axolotl trains with are both checked.
"""

from __future__ import annotations

import re
import tarfile
from functools import lru_cache
from pathlib import Path

import go_template
import pytest
from go_template import go_render

from wikikit.data.render import HarmonyRenderer
from wikikit.example import Example, Message
from wikikit.package.modelfile import WIKI_AGENT_SYSTEM, harmony_template
from wikikit.semanticwiki.runtimes import DEFAULT_CURRENT_DATE
from wikikit.train.tinymodel import make_tokenizer

# ../shared beside the checkout (a git worktree of it sits one level deeper).
SHARED = next(
    (d / "shared" for d in Path(__file__).resolve().parents[2:4] if (d / "shared").is_dir()),
    Path(__file__).resolve().parents[2] / "shared",
)
PROMPTS = SHARED / "fixtures" / "semanticwiki-prompts"
CLIENT = SHARED / "vendor" / "semanticwiki" / "semanticwiki-1.2.1.tgz"
CALLS = sorted(PROMPTS.glob("*/*.rendered.txt")) if PROMPTS.is_dir() else []
DATE = re.compile(r"Current date: \d{4}-\d{2}-\d{2}")
GEN = "<|start|>assistant"
go_renderer = go_template.go_renderer

needs_capture = pytest.mark.skipif(
    not CALLS, reason="../shared/fixtures/semanticwiki-prompts absent"
)


def masked(text: str) -> str:
    return DATE.sub("Current date: YYYY-MM-DD", text)


def tokens(text: str) -> list[int]:
    return make_tokenizer().encode(masked(text), add_special_tokens=False)


@lru_cache(maxsize=1)
def client_source() -> str:
    """dist/wiki-agent.js of the vendored 1.2.1 build: where the system prompts are written."""
    with tarfile.open(CLIENT) as tgz:
        member = tgz.extractfile("package/dist/wiki-agent.js")
        assert member is not None
        return member.read().decode("utf-8")


def captured(path: Path) -> tuple[str, str, str, str]:
    """(system prompt the client passes its provider, user prompt, rendered prompt, kind)."""
    stem = path.name[: -len(".rendered.txt")]
    sent = path.with_name(f"{stem}.system.txt").read_text(encoding="utf-8")
    # The capture holds what the provider gave node-llama-cpp: SemanticWiki's prompt + "\n\n" +
    # an empty tool prompt (dist/llm/local-llama-provider.js:280-282). Examples carry the prompt.
    assert sent.endswith("\n\n")
    system = sent[:-2]
    user = path.with_name(f"{stem}.user.txt").read_text(encoding="utf-8")
    return system, user, path.read_text(encoding="utf-8"), stem.split("-", 1)[1]


def example(system: str, user: str, kind: str, thinking: str | None = None) -> Example:
    answer = "# Shop\n\nThe catalog lives in 📄 [shop/catalog.py:1](../shop/catalog.py#L1)."
    msgs = [Message("system", system), Message("user", user)]
    msgs.append(Message("assistant", answer, thinking=thinking))
    return Example(f"sw-{kind}", msgs, "semanticwiki", kind)


def prompt_part(text: str) -> str:
    """The training text up to the answer: what the runtime feeds before the model writes."""
    return text[: text.index(GEN, text.index("<|start|>user")) + len(GEN)]


def template(messages: list[dict], runtime: str, **kw) -> str:
    return make_tokenizer().apply_chat_template(
        messages, tokenize=False, runtime=runtime, current_date=DEFAULT_CURRENT_DATE, **kw
    )


def chat(ex: Example) -> list[dict]:
    out = []
    for m in ex.messages:
        d = {"role": m.role, "content": m.content}
        if m.thinking:
            d["thinking"] = m.thinking
        out.append(d)
    return out


@needs_capture
@pytest.mark.parametrize("path", CALLS, ids=lambda p: f"{p.parent.name}/{p.name.split('.')[0]}")
def test_node_llama_cpp_training_text_is_the_captured_prompt(path):
    system, user, rendered, kind = captured(path)
    assert system in client_source()  # the prompt is the client's own, verbatim
    render = HarmonyRenderer(runtime="node-llama-cpp")
    for thinking in (None, "The plan names four pages."):
        ex = example(system, user, kind, thinking)
        text = render(ex)
        assert tokens(prompt_part(text)) == tokens(rendered), kind
        # The template Axolotl trains with: the same prompt, and the same whole training text.
        prompt = template(chat(ex)[:2], "node-llama-cpp", add_generation_prompt=True)
        assert tokens(prompt) == tokens(rendered)
        assert tokens(template(chat(ex), "node-llama-cpp")) == tokens(text)
        assert text.endswith(f"{ex.messages[-1].content}<|return|>")


@needs_capture
@pytest.mark.parametrize("path", CALLS[:6], ids=lambda p: p.name.split(".")[0])
def test_ollama_training_text_is_what_the_modelfile_template_renders(path, go_renderer, tmp_path):
    system, user, _, kind = captured(path)
    ex = example(system, user, kind, thinking="Read the plan first.")
    text = HarmonyRenderer(runtime="ollama")(ex)
    # What SemanticWiki's Ollama provider sends (dist/llm/ollama-provider.js:116-121): its prompt
    # as the system message, so the Modelfile's SYSTEM (passed here) is not used.
    request = {
        "system": WIKI_AGENT_SYSTEM,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
    }
    ollama = go_render(go_renderer, harmony_template("medium"), tmp_path, request)
    assert WIKI_AGENT_SYSTEM not in ollama
    assert tokens(prompt_part(text)) == tokens(ollama)
    prompt = template(chat(ex)[:2], "ollama", add_generation_prompt=True)
    assert tokens(prompt) == tokens(ollama)
    assert tokens(template(chat(ex), "ollama")) == tokens(text)


def test_runtimes_differ_only_in_the_developer_block():
    """Self-contained (no ../shared): node-llama-cpp's `# Instruction` + "\\n\\n", Ollama's
    `# Instructions`; with tools both use harmony's form."""
    ex = example("You write wikis.", "Document shop/.", "page", thinking="Look first.")
    llama = HarmonyRenderer(runtime="node-llama-cpp")(ex)
    ollama = HarmonyRenderer(runtime="ollama")(ex)
    assert "<|start|>developer<|message|># Instruction\n\nYou write wikis.\n\n<|end|>" in llama
    assert "<|start|>developer<|message|># Instructions\n\nYou write wikis.<|end|>" in ollama
    assert llama.replace("# Instruction\n\nYou write wikis.\n\n", "") == ollama.replace(
        "# Instructions\n\nYou write wikis.", ""
    )
    assert f"Current date: {DEFAULT_CURRENT_DATE}\n" in llama
    assert template(chat(ex), "node-llama-cpp") == llama
    assert template(chat(ex), "ollama") == ollama

    from wikikit.example import ToolCall

    tool = Example(
        "t",
        [
            Message("system", "You write wikis."),
            Message("user", "Read a.py"),
            Message("assistant", "", tool_calls=[ToolCall("read_file", {"path": "a.py"})]),
            Message("tool", "x = 1\n", name="read_file"),
            Message("assistant", "a.py sets x."),
        ],
        "t",
        "tool_use",
    )
    assert HarmonyRenderer(runtime="node-llama-cpp")(tool) == HarmonyRenderer(runtime="ollama")(
        tool
    )


def test_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="unknown runtime 'vllm'"):
        HarmonyRenderer(runtime="vllm")


@needs_capture
@pytest.mark.parametrize("path", CALLS, ids=lambda p: f"{p.parent.name}/{p.name.split('.')[0]}")
def test_eval_prompts_are_what_the_runtime_feeds_the_deployed_model(path, monkeypatch):
    """An eval task's harmony prompt (eval/metrics/prompts.py) for the recipe's runtime equals the
    captured prompt node-llama-cpp fed the model, date and all (the date is today's, as there)."""
    import datetime

    from wikikit.eval.metrics.prompts import RUNTIME_ENV, render_harmony

    system, user, rendered, _ = captured(path)
    monkeypatch.setenv(RUNTIME_ENV, "node-llama-cpp")
    prompt = render_harmony(system, user, effort="medium")
    assert f"Current date: {datetime.date.today().isoformat()}\n" in prompt
    assert tokens(prompt) == tokens(rendered)
    monkeypatch.setenv(RUNTIME_ENV, "ollama")  # openai-harmony's form: the plural heading
    assert "# Instructions\n\n" in render_harmony(system, user, effort="medium")
    monkeypatch.delenv(RUNTIME_ENV)  # unset: openai-harmony's own rendering, no date
    assert "Current date:" not in render_harmony(system, user, effort="medium")
