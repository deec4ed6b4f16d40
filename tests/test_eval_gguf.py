"""The eval stage against a real GGUF (a local llama.cpp server) and with a base-model column.

The tiny gpt-oss has random weights, so its scores are ~0; what is checked is the plumbing: the
server's life cycle, the raw harmony prompt reaching llama.cpp unchanged and decoded greedily,
lm-eval's results for every task, and what results.json / results.md record.
"""

from __future__ import annotations

import datetime
import json
import socket
import subprocess
from pathlib import Path

import model_fixtures
import pytest

from wikikit.errors import InputError, WikikitError
from wikikit.eval import local_server
from wikikit.eval import stage as evaluate
from wikikit.recipe.load import load_recipe
from wikikit.stage import StageContext

# shared fixtures (tests/model_fixtures.py), registered in this module
tiny_model = model_fixtures.tiny_model
merged_model = model_fixtures.merged_model
tiny_gguf = model_fixtures.tiny_gguf

TASKS = ["wikikit_traceability", "wikikit_mermaid"]
MAX_GEN = 16


def _ctx(
    tmp_path: Path, eval_section: str, *, base: str = "tiny", inputs: dict | None = None
) -> StageContext:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"wikikit: 1\nname: evaltest\nstages: [eval]\nmodel: {{base: '{base}', format: harmony}}\n"
        f"eval: {eval_section}\n"
    )
    run = tmp_path / "runs" / "evaltest"
    return StageContext(
        recipe=load_recipe(recipe),
        stage="eval",
        run_dir=run,
        out_dir=run / "eval",
        cache_dir=run / "cache" / "eval",
        inputs=inputs or {},
    )


class PopenRecorder:
    """subprocess.Popen that remembers the llama.cpp server processes it started."""

    def __init__(self) -> None:
        self.servers: list[tuple[list[str], subprocess.Popen]] = []
        self._popen = subprocess.Popen

    def __call__(self, cmd, *args, **kwargs):
        proc = self._popen(cmd, *args, **kwargs)
        if isinstance(cmd, list) and "llama_cpp.server" in cmd:
            self.servers.append(([str(c) for c in cmd], proc))
        return proc


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _responses(results: dict, task: str) -> list[str]:
    return [s["resps"][0][0] for s in results["samples"][task]]


def _prompts(results: dict, task: str) -> list[str]:
    return [s["arguments"][0][0] for s in results["samples"][task]]


# ------------------------------------------------------------------ the GGUF backend (slow)


@pytest.fixture(scope="module")
def gguf_run(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory):
    """The eval stage once with eval.backend gguf, the GGUF where the package stage puts it."""
    tmp = tmp_path_factory.mktemp("gguf-eval")
    ctx = _ctx(
        tmp,
        f"{{backend: gguf, tasks: [{', '.join(TASKS)}], limit: 1, max_gen_tokens: {MAX_GEN}}}",
    )
    package = ctx.run_dir / "package"
    package.mkdir(parents=True)
    (package / "model.gguf").symlink_to(tiny_gguf)
    from lm_eval.models.openai_completions import LocalCompletionsAPI

    recorder = PopenRecorder()
    payloads: list[dict] = []
    create_payload = LocalCompletionsAPI._create_payload

    def recording_payload(self, *args, **kwargs):
        payloads.append(create_payload(self, *args, **kwargs))
        return payloads[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local_server.subprocess, "Popen", recorder)
        mp.setattr(LocalCompletionsAPI, "_create_payload", recording_payload)
        result = evaluate.run_stage(ctx)
    return ctx, result, recorder, payloads


@pytest.mark.slow
def test_gguf_backend_serves_the_package_gguf_on_localhost_and_stops_it(gguf_run) -> None:
    ctx, result, recorder, _ = gguf_run
    (cmd, proc), *others = recorder.servers
    assert others == []  # one server for the whole run
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--model") + 1] == str(ctx.run_dir / "package" / "model.gguf")
    assert cmd[cmd.index("--logits_all") + 1] == "false"
    port = int(cmd[cmd.index("--port") + 1])
    # shut down after the run: the process has exited and nothing listens on its port
    assert proc.poll() is not None
    assert not _port_open(port)
    log = (ctx.out_dir / "llama_cpp_server.log").read_text(errors="replace")
    assert f"Uvicorn running on http://127.0.0.1:{port}" in log
    assert log.count('"POST /v1/completions HTTP/1.1" 200') == len(TASKS)  # limit 1 per task

    out = json.loads((ctx.out_dir / "results.json").read_text())
    assert out["model"] == {
        "backend": "gguf",
        "location": str(ctx.run_dir / "package" / "model.gguf"),
        "name": None,
    }
    config = out["lm_eval"]["config"]
    assert config["model"] == "local-completions"
    assert config["model_args"]["base_url"] == f"http://127.0.0.1:{port}/v1/completions"
    assert out["tasks"] == TASKS and out["base_scores"] is None
    for task in TASKS:
        assert task in out["lm_eval"]["results"]
        scores = out["scores"][task]
        assert evaluate.HEADLINE[task] in scores
        assert all(0.0 <= v <= 1.0 for v in scores.values())
        assert result.counts[task] == scores[evaluate.HEADLINE[task]]
        (response,) = _responses(out["lm_eval"], task)
        assert response  # the server generated text for the task's one item
    md = (ctx.out_dir / "results.md").read_text()
    assert "| task | metric | n | fine-tuned | target |" in md and "**validity**" in md


@pytest.mark.slow
def test_gguf_backend_sends_the_raw_harmony_prompt_and_decodes_greedily(gguf_run, tiny_gguf):
    """What lm-eval got back equals llama.cpp's own greedy continuation of the same text."""
    from llama_cpp import Llama

    ctx, _, _, payloads = gguf_run
    lm = json.loads((ctx.out_dir / "results.json").read_text())["lm_eval"]
    # greedy as the hf backend means it: llama.cpp's default repeat penalty (1.1) turned off
    assert len(payloads) == len(TASKS)
    for sent in payloads:
        assert (sent["temperature"], sent["repeat_penalty"]) == (0, 1.0)
        assert (sent["max_tokens"], sent["stop"]) == (MAX_GEN, ["<|return|>"])
    assert sorted(p["prompt"] for p in payloads) == sorted(
        _prompts(lm, t)[0] for t in TASKS
    )  # the harmony text itself, untokenized
    llm = Llama(str(tiny_gguf), n_ctx=4096, logits_all=False, verbose=False)
    try:
        for task in TASKS:
            (prompt,) = _prompts(lm, task)
            assert prompt.startswith("<|start|>system<|message|>")
            assert prompt.endswith("<|start|>assistant")
            # as the recipe's runtime (default node-llama-cpp, SemanticWiki's bundled mode) feeds
            # the deployed model: its own developer heading and today's date
            assert "<|start|>developer<|message|># Instruction\n\n" in prompt
            assert f"Current date: {datetime.date.today().isoformat()}\n" in prompt
            # harmony's special tokens are read as tokens, and nothing (no BOS) is put in front
            ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
            assert ids[0] == 200006 and ids.count(200008) >= 3  # <|start|>, <|message|>
            want = llm.create_completion(
                prompt, max_tokens=MAX_GEN, temperature=0.0, repeat_penalty=1.0,
                stop=["<|return|>"],
            )  # fmt: skip
            assert want["usage"]["prompt_tokens"] == len(ids)
            assert _responses(lm, task) == [want["choices"][0]["text"]]
    finally:
        llm.close()


# ------------------------------------------------------------------ failures and resolution (fast)


def test_a_server_that_cannot_load_the_gguf_fails_plainly_and_leaves_nothing(tmp_path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    ctx = _ctx(tmp_path, f"{{backend: gguf, gguf: {bad.name}, tasks: [wikikit_mermaid], limit: 1}}")
    recorder = PopenRecorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local_server.subprocess, "Popen", recorder)
        with pytest.raises(WikikitError, match=r"llama.cpp server exited with \d+; see .*\.log"):
            evaluate.run_stage(ctx)
    ((cmd, proc),) = recorder.servers
    assert cmd[cmd.index("--model") + 1] == str(bad)  # eval.gguf, relative to the recipe
    assert proc.poll() is not None
    assert (ctx.out_dir / "llama_cpp_server.log").stat().st_size > 0
    assert not (ctx.out_dir / "results.json").exists()


def test_gguf_is_found_in_the_package_folder(tmp_path) -> None:
    ctx = _ctx(tmp_path, "{backend: gguf}")
    with pytest.raises(InputError, match="no GGUF files under .*package; set eval.gguf"):
        evaluate.resolve_target(ctx)
    package = ctx.run_dir / "package"
    package.mkdir(parents=True)
    (package / "other.gguf").write_bytes(b"GGUF")
    assert evaluate.resolve_target(ctx).location == str(package / "other.gguf")
    (package / "second.gguf").write_bytes(b"GGUF")
    with pytest.raises(InputError, match="2 GGUF files under"):
        evaluate.resolve_target(ctx)
    (package / "model.gguf").write_bytes(b"GGUF")  # the package stage's own name wins
    target = evaluate.resolve_target(ctx)
    assert (target.backend, target.location) == ("gguf", str(package / "model.gguf"))


def test_completions_arguments_for_the_llama_cpp_server() -> None:
    spec = evaluate.lm_eval_model(
        evaluate.ModelTarget("m", "gguf-server", "http://127.0.0.1:1234/v1/completions", "model")
    )
    assert (spec["model"], spec["style"], spec["apply_chat_template"]) == (
        "local-completions",
        "harmony",
        False,
    )
    args = spec["model_args"]
    assert args["tokenizer_backend"] is None and args["tokenized_requests"] is False
    assert args["eos_string"] == "<|return|>"


# ------------------------------------------------------------------ compare_base (slow)


@pytest.mark.slow
def test_compare_base_adds_the_base_column(tiny_model: Path, merged_model: Path, tmp_path) -> None:
    """Base = the tiny model (model.base), fine-tuned = train/merged: the same weights, so the
    two greedy runs must agree item for item."""
    ctx = _ctx(
        tmp_path,
        f"{{backend: hf, compare_base: true, tasks: [{', '.join(TASKS)}], limit: 1, "
        f"max_gen_tokens: {MAX_GEN}}}",
        base=str(tiny_model),
        inputs={"train": merged_model},
    )
    assert evaluate.plan(ctx)[-1] == "eval: also the base model, for a side-by-side table"
    evaluate.run_stage(ctx)
    out = json.loads((ctx.out_dir / "results.json").read_text())
    assert out["model"]["backend"] == "hf"
    assert out["model"]["location"] == str(merged_model / "merged")
    assert out["lm_eval_base"]["config"]["model_args"]["pretrained"] == str(tiny_model)
    assert set(out["base_scores"]) == set(TASKS)
    for task in TASKS:
        assert out["base_scores"][task] == out["scores"][task]
        assert _responses(out["lm_eval_base"], task) == _responses(out["lm_eval"], task)
    md = (ctx.out_dir / "results.md").read_text()
    assert "| task | metric | n | base | fine-tuned | difference | target |" in md
    trace = out["base_scores"]["wikikit_traceability"]["traceability"]
    one = "(n=1, no interval)"  # limit 1: a value, and no interval drawn from one item
    assert (
        f"| wikikit_traceability | **traceability** | 1 | {trace:.4f} {one} | {trace:.4f} {one} "
        f"| +0.0000 {one} |"
    ) in md
    for task in TASKS:  # the same weights: every paired difference is zero (or not countable)
        assert all(d["value"] in (0.0, None) for d in out["differences"][task].values())
        assert out["differences"][task][evaluate.HEADLINE[task]]["value"] == 0.0


def test_compare_base_without_a_known_base_fails_before_evaluating(tmp_path) -> None:
    # no model.base and no train/metrics.json; the endpoint would refuse connections
    ctx = _ctx(
        tmp_path,
        "{backend: openai, base_url: 'http://127.0.0.1:9/v1', compare_base: true, limit: 1}",
        base="",
    )
    with pytest.raises(InputError, match="eval.compare_base: no base model known"):
        evaluate.run_stage(ctx)
