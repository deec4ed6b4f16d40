"""The semanticwiki harness's settings, without running the client: which model writes the wikis,
which stages the eval reads, what the dry run says, and clear errors for what cannot work.
(The real client runs in test_semanticwiki_harness.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from wikikit.errors import InputError
from wikikit.eval import harness
from wikikit.eval import stage as evaluate
from wikikit.recipe.load import load_recipe
from wikikit.semanticwiki.client import exchange_from_bundled, exchange_from_endpoint
from wikikit.stage import StageContext

DATA = "  mix: {a: {weight: 1, sources: [s]}}\n  sources: {s: {kind: jsonl, paths: [x.jsonl]}}\n"


def _ctx(tmp_path: Path, eval_yaml: str, holdout: str = "[demo/ledger]") -> StageContext:
    (tmp_path / "r.yaml").write_text(
        f"wikikit: 1\nname: h\nmodel: {{base: tiny}}\ndata:\n  holdout: {holdout}\n{DATA}"
        f"eval:\n{eval_yaml}"
    )
    run = tmp_path / "run"
    return StageContext(load_recipe(tmp_path / "r.yaml"), "eval", run, run / "eval",
                        run / "cache" / "eval")  # fmt: skip


def _models(ctx: StageContext, override: str | None = None):
    return harness.models(
        ctx,
        lambda: ctx.run_dir / "package" / "model.gguf",
        lambda: ctx.run_dir / "train" / "merged",
        lambda: "openai/gpt-oss-20b",
        override,
    )


def test_which_model_writes_the_wikis(tmp_path):
    (tmp_path / "run" / "package").mkdir(parents=True)
    (tmp_path / "run" / "package" / "model.gguf").write_bytes(b"GGUF")
    (tmp_path / "other.gguf").write_bytes(b"GGUF")
    tuned, base = _models(_ctx(tmp_path, "  harness: semanticwiki\n"))
    assert (tuned.how, tuned.location, base) == (
        "gguf",
        str(tmp_path / "run/package/model.gguf"),
        None,
    )
    tuned, base = _models(_ctx(tmp_path, "  harness: semanticwiki\n  compare_base: true\n"
                               "  semanticwiki: {serve: vllm, base: {gguf: other.gguf}}\n"))  # fmt: skip
    assert (tuned.how, tuned.serve, tuned.location) == (
        "serve",
        "vllm",
        str(tmp_path / "run/train/merged"),
    )
    assert (base.how, base.location) == ("gguf", str(tmp_path / "other.gguf"))
    tuned, base = _models(_ctx(tmp_path, "  harness: semanticwiki\n  compare_base: true\n"
                               "  semanticwiki: {url: 'http://127.0.0.1:8000/v1', model_name: m,"
                               " base: {serve: vllm}}\n"))  # fmt: skip
    assert (tuned.how, tuned.name) == ("url", "m") and base.location == "openai/gpt-oss-20b"
    tuned, _ = _models(
        _ctx(tmp_path, "  harness: semanticwiki\n  semanticwiki: {serve: llama.cpp}\n")
    )
    assert (tuned.serve, tuned.location) == ("llama.cpp", str(tmp_path / "run/package/model.gguf"))


def test_eval_model_option_names_the_harness_model_and_its_inputs(tmp_path, monkeypatch):
    ctx = _ctx(tmp_path, "  harness: semanticwiki\n")
    tuned, _ = _models(ctx, "http://127.0.0.1:8000/v1#served")
    assert (tuned.how, tuned.location, tuned.name) == ("url", "http://127.0.0.1:8000/v1", "served")
    with pytest.raises(InputError, match=r"--model \(the semanticwiki harness\) x: not a \.gguf"):
        _models(ctx, "x")
    assert evaluate.inputs({"harness": "semanticwiki"}) == ("package",)
    monkeypatch.setenv(evaluate.MODEL_ENV, "ollama:agent")
    assert evaluate.inputs({"harness": "semanticwiki"}) == ()  # nothing of the run is read
    assert evaluate.inputs({"compare_base": True}) == ("train",)  # the base model's name


def test_bad_model_settings_are_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="url names a served model; it takes no gguf or serve"):
        _models(_ctx(tmp_path, "  harness: semanticwiki\n"
                     "  semanticwiki: {url: 'http://x/v1', serve: vllm}\n"))  # fmt: skip
    with pytest.raises(InputError, match=r"eval\.semanticwiki\.gguf: no such GGUF file"):
        _models(_ctx(tmp_path, "  harness: semanticwiki\n  semanticwiki: {gguf: nope.gguf}\n"))
    with pytest.raises(InputError, match="eval.semanticwiki.base: name the base model's GGUF"):
        (tmp_path / "m.gguf").write_bytes(b"GGUF")
        _models(_ctx(tmp_path, "  harness: semanticwiki\n  compare_base: true\n"
                     "  semanticwiki: {gguf: m.gguf, base: {serve: llama.cpp}}\n"))  # fmt: skip
    ctx = _ctx(tmp_path, "  harness: semanticwiki\n  tasks: [codewikibench]\n")
    with pytest.raises(InputError, match="drop it from eval.tasks"):
        evaluate.run_stage(ctx)
    ctx = _ctx(tmp_path, "  harness: semanticwiki\n")
    with pytest.raises(InputError, match="eval.heldout.repos: the semanticwiki harness writes"):
        evaluate.run_stage(ctx)
    ledger = Path(__file__).resolve().parents[1] / "demo" / "ledger"
    ctx = _ctx(
        tmp_path, f"  harness: semanticwiki\n  heldout: {{repos: {{demo/ledger: {ledger}}}}}\n"
    )
    with pytest.raises(InputError, match="no GGUF files under .*run the package stage"):
        evaluate.run_stage(ctx)


def test_the_dry_run_says_what_writes_the_wikis(tmp_path):
    ctx = _ctx(tmp_path, "  harness: semanticwiki\n  compare_base: true\n"
               "  heldout: {repos: {demo/ledger: .}}\n  semanticwiki: {threads: 1}\n")  # fmt: skip
    lines = evaluate.plan(ctx)
    assert "for each of 1 held-out repo(s) (demo/ledger) with the package stage GGUF" in lines[0]
    assert "base model, not named (eval.semanticwiki.base)" in lines[1]
    assert not any("lm-eval" in line for line in lines)  # no tasks listed: none run


def test_rubrics_are_matched_to_held_out_repos_as_the_holdout_matches(tmp_path):
    for name in ("OpenHands", "trino", "owner__thing"):
        (tmp_path / f"{name}.json").write_text("[]")
    found = harness.heldout_rubrics(tmp_path, ["All-Hands-AI/OpenHands", "owner/thing", "demo/x"])
    assert found == {"All-Hands-AI/OpenHands": tmp_path / "OpenHands.json",
                     "owner/thing": tmp_path / "owner__thing.json"}  # fmt: skip
    assert harness.heldout_rubrics(tmp_path / "none", ["OpenHands"]) == {}


def test_exchange_rows_in_the_eval_shape():
    bundled = {"n": 1, "system": "S\n\n", "user": '# Documentation Task: "X"\n\nYou are', "answer": "A",
               "thinking": None, "options": {"max_tokens": 4096, "temperature": 0.3, "seed": 1},
               "seconds": 2.5, "tokens": {"prompt": 900, "completion": 4096},
               "stop_reason": "maxTokens"}  # fmt: skip
    x = exchange_from_bundled(bundled)
    assert (x["kind"], x["tokens"]["completion"], x["options"]["seed"]) == ("page", 4096, 1)
    assert "error" not in x
    served = {"call": "index", "system": "S", "user": "Generate an index page", "answer": "",
              "status": "error", "error": "HTTPStatusError: 500", "options": {"num_predict": 2048},
              "meta": {}, "seconds": 0.1}  # fmt: skip
    y = exchange_from_endpoint(served)
    assert y["options"] == {"max_tokens": 2048} and y["error"] == "HTTPStatusError: 500"
    assert "tokens" not in y


def test_each_way_of_writing_the_wikis_is_labelled_against_the_deployment(tmp_path):
    """deployment_equal: the client's own GGUF and vLLM at the deployment's context are; a
    URL of unknown kind, llama.cpp's server (its template renders) and vLLM at another context
    are not, each with its reason; results.json's model and repo rows and results.md carry it."""
    from wikikit.eval.results import wiki_table

    (tmp_path / "run" / "package").mkdir(parents=True)
    (tmp_path / "run" / "package" / "model.gguf").write_bytes(b"GGUF")

    def tuned(eval_yaml: str):
        return _models(_ctx(tmp_path, "  harness: semanticwiki\n" + eval_yaml))[0]

    gguf = tuned("")
    vllm = tuned("  semanticwiki: {serve: vllm}\n")
    short = tuned("  semanticwiki: {serve: vllm}\n  vllm: {max_model_len: 16384}\n")
    llama = tuned("  semanticwiki: {serve: llama.cpp}\n")
    url = tuned("  semanticwiki: {url: 'http://127.0.0.1:8000/v1'}\n")
    assert gguf.as_json()["deployment_equal"] is True
    assert vllm.context == 32768 and vllm.as_json()["deployment_equal"] is True
    assert "node-llama-cpp's prompt text" in vllm.as_json()["deployment_reason"]
    for model, why in ((short, "16384-token context"), (llama, "the GGUF's chat template"),
                       (url, "URL of unknown kind")):  # fmt: skip
        label = model.as_json()
        assert label["deployment_equal"] is False and why in label["deployment_reason"], label
    rows = {"fine-tuned": [{"repo": "demo/ledger", "deployment_equal": False, "scores": {}}]}
    table = wiki_table(rows)
    header, _, row = table.splitlines()
    assert header.split(" | ")[2] == "as deployed" and row.split(" | ")[2] == "no"
