"""runs/<name>/report.html: sections from real data-stage output plus train/eval/package files
in the shape their writers produce; "not run yet" for missing stages; escaping; a real
headless Chromium loads the page without errors and its screenshot is not blank."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from wikikit.atomic import write_json
from wikikit.cli import cli
from wikikit.errors import InputError
from wikikit.eval.stage import HEADLINE, TARGETS
from wikikit.report import page as report
from wikikit.report.data_section import sample_token_lengths
from wikikit.report.page import render_report, try_write_report, write_report
from wikikit.runner import describe_outputs
from wikikit.tokens import count_tokens

REPO = Path(__file__).resolve().parent.parent
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def sections(page: str) -> dict[str, str]:
    """Section id -> its HTML."""
    found = re.findall(r'<section id="([^"]+)">(.*?)</section>', page, flags=re.S)
    return dict(found)


def external_refs(page: str) -> list[str]:
    return re.findall(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', page, flags=re.I)


def add_stage(run_dir: Path, stage: str, outputs: list[str], **entry) -> None:
    """Record a stage in manifest.json the way wikikit.runner does."""
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {"stages": {}}
    rec = {"status": "done", "started": "2026-11-21T10:00:00", "seconds": 12.5, **entry}
    if outputs:
        rec["outputs"] = describe_outputs(run_dir / stage, outputs)
    manifest["stages"][stage] = rec
    write_json(path, manifest)


def write_train(run_dir: Path) -> dict:
    """train/metrics.json as wikikit.train.stage.build_metrics + run_stage write it."""
    curve = [{"step": s, "loss": round(12.0 - 0.35 * s, 4)} for s in range(1, 11)]
    metrics = {
        "base_model": "/cache/tiny-gpt-oss",
        "steps": 10,
        "final_loss": curve[-1]["loss"],
        "train_loss": 10.4,
        "eval_loss": None,
        "loss_curve": curve,
        "tokens_per_second": 731.25,
        "train_runtime_s": 9.5,
        "train_wall_s": 21.3,
        "wall_time_s": 48.2,
        "adapter": "adapter",
        "merged": "merged",
        "resumed": False,
    }
    write_json(run_dir / "train" / "metrics.json", metrics)
    add_stage(run_dir, "train", ["metrics.json"], summary="10 steps, final loss 8.5000")
    return metrics


def _interval(value: float, n: int = 20) -> dict:
    return {"value": value, "low": round(value - 0.1, 4), "high": round(value + 0.1, 4), "n": n,
            "level": 0.95}  # fmt: skip


def write_eval(run_dir: Path, *, failed: str | None = None) -> dict:
    """eval/results.json as wikikit.eval.stage.run_stage writes it (base compared)."""
    tasks = ["wikikit_traceability", "wikikit_mermaid", "wikikit_tooluse"]
    scores = {t: {HEADLINE[t]: 0.5 + 0.1 * i, "extra_metric": 0.25} for i, t in enumerate(tasks)}
    base = {t: {HEADLINE[t]: 0.2 + 0.05 * i, "extra_metric": 0.1} for i, t in enumerate(tasks)}
    intervals = {t: {m: _interval(v) for m, v in ms.items()} for t, ms in scores.items()}
    base_intervals = {t: {m: _interval(v) for m, v in ms.items()} for t, ms in base.items()}
    differences = {
        t: {m: _interval(round(v - base[t][m], 4)) for m, v in ms.items()}
        for t, ms in scores.items()
    }
    gate = {"gate": "wikikit_mermaid", "minimum": 0.95, "passed": False,
            "reason": "lower end 0.5000 < 0.95 (the value itself is below; value 0.6000, n=20)",
            "interval": intervals["wikikit_mermaid"]["validity"]}  # fmt: skip
    results = {
        "model": {"backend": "hf", "location": "/runs/x/train/merged", "name": None},
        "tasks": tasks,
        "scores": scores,
        "base_scores": base,
        "intervals": intervals,
        "base_intervals": base_intervals,
        "differences": differences,
        "targets": {t: {"metric": HEADLINE[t], "target": TARGETS[t]} for t in tasks},
        "gates": {
            "required": {"wikikit_mermaid": 0.95},
            "verdicts": [gate],
            "missed": [f"wikikit_mermaid: {gate['reason']}"],
        },
        "notes": ["Each value carries a 95% percentile-bootstrap interval over the scored items."],
        "lm_eval": {"results": {}},
        "lm_eval_base": {"results": {}},
    }
    write_json(run_dir / "eval" / "results.json", results)
    (run_dir / "eval" / "results.md").write_text("# Evaluation\n")
    if failed:
        add_stage(run_dir, "eval", [], status="failed", error=failed)
    else:
        add_stage(run_dir, "eval", ["results.json", "results.md"])
    return results


def write_package(run_dir: Path) -> dict:
    """package/: model.gguf, Modelfile, convert.log, package.json as wikikit.package.stage writes them."""
    out = run_dir / "package"
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.gguf").write_bytes(b"GGUF" + bytes(range(256)) * 40)
    (out / "Modelfile").write_text("FROM ./model.gguf\n")
    (out / "convert.log").write_text("converted\n")
    gguf = describe_outputs(out, ["model.gguf"])["model.gguf"]
    pkg = {
        "gguf": {
            "file": "model.gguf",
            "bytes": gguf["size"],
            "sha256": gguf["sha256"],
            "outtype": "f32",
            "quantize": None,
        },
        "modelfile": {"file": "Modelfile", "sha256": "ab" * 32},
        "merged_model": "/runs/x/train/merged",
        "verification": {
            "metadata": {
                "architecture": "gpt-oss",
                "tensor_count": 29,
                "tensor_types": ["F32"],
                "tokenizer_model": "gpt2",
                "tokenizer_pre": "gpt-4o",
            },
            "greedy": {
                "prompt_tokens": 40,
                "transformers": [1, 2, 3],
                "llama_cpp": [1, 2, 3],
                "agreed_prefix": 3,
                "required": 3,
                "load_seconds": 0.4,
                "notes": [],
                "ok": True,
            },
        },
        "ollama": {
            "name": "demo",
            "host": "http://127.0.0.1:11434",
            "created": False,
            "unreachable": "Ollama is not running at http://127.0.0.1:11434",
            "commands": ["cd /runs/x/package", "ollama create demo -f Modelfile"],
        },
        "times": {"convert_s": 7.1, "quantize_s": 0.0, "verify_s": 2.0, "total_s": 9.5},
    }
    write_json(out / "package.json", pkg)
    add_stage(run_dir, "package", ["model.gguf", "Modelfile", "convert.log", "package.json"])
    return pkg


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    """The demo recipe's real data stage (small), then train/eval/package files."""
    run_dir = tmp_path_factory.mktemp("run") / "demo"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "wikikit.cli", "--quiet", "run", "recipes/demo.yaml"]
        + ["--only", "data", "--set", "data.size=40", "--run-dir", str(run_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    write_train(run_dir)
    write_eval(run_dir)
    write_package(run_dir)
    write_report(run_dir)
    return run_dir


@pytest.mark.slow
def test_full_report_shows_every_stage_with_charts_and_no_external_urls(full_run):
    page = (full_run / "report.html").read_text(encoding="utf-8")
    q = json.loads((full_run / "data" / "quality.json").read_text())
    sec = sections(page)
    assert list(sec) == ["overview", "data", "train", "eval", "package"]
    assert "not run yet" not in page
    assert external_refs(page) == []

    # Every chart is an embedded SVG that decodes.
    uris = re.findall(r'<img alt="[^"]*" src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(uris) >= 10
    for uri in uris:
        assert base64.b64decode(uri).lstrip().startswith((b"<?xml", b"<svg"))
    assert "chart unavailable" not in page and "could not be rendered" not in page

    data = sec["data"]
    for title in (
        "Mix: planned vs actual",
        "Filters: why",
        "Lengths (tokens)",
        "Languages and",
        "Dedup",
    ):
        assert title in data
    mix = q["mix"]
    bucket = next(iter(mix["planned"]))
    row = re.search(rf"<tr><td>{re.escape(bucket)}</td>(.*?)</tr>", data).group(1)
    assert f'<td class="num">{mix["planned"][bucket]}</td>' in row
    assert f'<td class="num">{mix["actual"][bucket]}</td>' in row
    for fname, entry in q["filters"].items():
        for source, reasons in entry["dropped"].items():
            for reason, n in reasons.items():
                assert (
                    f'<td>{source}</td><td>{fname}: {reason}</td><td class="num">{n}</td>' in data
                )
    assert f'>{q["dedup"]["near_removed"]}</div><div class="k">near duplicates removed' in data
    train_rows = q["splits"]["train"]["count"]
    assert re.search(rf'<tr><td>train</td><td class="num">{train_rows}</td>', data)

    train = sec["train"]
    assert "Training loss" not in train  # chart titles live inside the SVG, not the HTML
    assert '>731</div><div class="k">tokens/s' in train
    assert "training loss curve" in train

    ev = sec["eval"]
    # each value with its interval: base, fine-tuned, the paired difference
    assert (
        '<td>wikikit_mermaid</td><td>validity</td><td class="num">20</td>'
        '<td class="num">0.2500 [0.1500, 0.3500]</td><td class="num">0.6000 [0.5000, 0.7000]</td>'
        '<td class="num">+0.3500 [+0.2500, +0.4500]</td>'
    ) in ev
    assert "&gt; 0.95" in ev and "&gt; 0.90" in ev
    assert "wikikit_mermaid &ge; 0.95: lower end 0.5000 &lt; 0.95" in ev  # the gate's verdict
    assert "fine-tuned minus base with 95% intervals" in ev  # the difference chart
    assert "codewikibench: codewikibench &gt; 0.70" in ev  # a target of a task not run

    pkg = sec["package"]
    sha = json.loads((full_run / "package" / "package.json").read_text())["gguf"]["sha256"]
    assert sha in pkg and "model.gguf" in pkg and "convert.log" in pkg
    assert "ollama create demo -f Modelfile" in pkg


@pytest.mark.slow
def test_report_loads_in_headless_chromium_without_errors(full_run, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it")
    page = full_run / "report.html"
    shot = tmp_path / "shot.png"
    base = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
    ]
    proc = subprocess.run(
        [*base, f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert shot.is_file(), proc.stderr[-3000:]
    console_errors = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert console_errors == []

    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (2000, 1280)
    assert pixels.std() > 20  # a blank or single-colour page is near 0
    assert len(np.unique(pixels)) > 50  # text, charts and colours, not a flat error page

    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    for sid in ("overview", "data", "train", "eval", "package"):
        assert f'<section id="{sid}">' in dom
    assert dom.count("<img ") >= 10


def test_sections_of_stages_that_have_not_run_say_so(tmp_path):
    (tmp_path / "data").mkdir()
    write_json(tmp_path / "manifest.json", {"recipe": "half", "stages": {}})
    write_train(tmp_path)  # only the train stage has run
    page = write_report(tmp_path).read_text(encoding="utf-8")
    sec = sections(page)
    for sid in ("data", "eval", "package"):
        assert "not run yet: nothing to show here." in sec[sid], sid
    assert "not run yet" not in sec["train"]
    assert "training loss curve" in sec["train"]
    assert "<title>wikikit run report: half</title>" in page


def test_an_empty_folder_still_gets_a_page_and_a_missing_one_is_an_input_error(tmp_path):
    page = render_report(tmp_path)
    assert "no manifest.json" in page
    assert page.count("not run yet: nothing to show here.") == 4
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output
    with pytest.raises(InputError, match="no such run directory"):
        write_report(tmp_path / "nope")


def test_failed_eval_still_shows_its_scores_and_error(tmp_path):
    write_eval(tmp_path, failed="eval gates missed: wikikit_mermaid: 0.6000 < 0.95")
    sec = sections(render_report(tmp_path))
    assert '<span class="badge bad">failed</span>' in sec["eval"]
    assert "error: eval gates missed" in sec["eval"]
    assert "<td>wikikit_traceability</td><td>traceability</td>" in sec["eval"]
    assert '<span class="badge bad">failed</span>' in sec["overview"]


def test_untrusted_text_is_escaped_everywhere(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    row = {"text": HOSTILE * 3, "category": HOSTILE, "language": "python"}
    (data / "train.jsonl").write_text(json.dumps(row) + "\n")
    quality = {
        "sources": {HOSTILE: {"generated": 3, "kept": 1}},
        "filters": {"min_chars": {"status": "ok", "dropped": {HOSTILE: {"too_short": 2}}}},
        "mix": {
            "weights": {"b$x$": 1.0},  # mathtext must not be parsed in chart labels
            "size": None,
            "planned": {"b$x$": 1},
            "available": {"b$x$": 1},
            "actual": {"b$x$": 1},
            "shortfalls": {},
        },
        "splits": {"train": {"count": 1, "category": {HOSTILE: 1}, "language": {"python": 1}}},
    }
    write_json(data / "quality.json", quality)
    add_stage(tmp_path, "data", [], status="failed", error=HOSTILE)
    page = render_report(tmp_path)
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "chart unavailable" not in page and "could not be rendered" not in page
    assert external_refs(page) == []


def test_unreadable_files_are_listed_not_fatal(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "metrics.json").write_text("{not json")
    (tmp_path / "manifest.json").write_text("[1, 2")
    sec = sections(render_report(tmp_path))
    assert "train/metrics.json: unreadable" in sec["problems"]
    assert "manifest.json: unreadable" in sec["problems"]
    assert "not run yet" in sec["train"]


def test_token_lengths_are_counted_on_a_bounded_sample(tmp_path):
    path = tmp_path / "train.jsonl"
    texts = [f"row {i} " + "word " * i for i in range(50)]
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    lengths, seen = sample_token_lengths(path, limit=10)
    assert seen == 50 and len(lengths) == 10
    assert set(lengths) <= {count_tokens(t) for t in texts}
    assert len(set(lengths)) == 10  # ten different rows, not one repeated
    assert sample_token_lengths(path, limit=10) == (lengths, seen)  # seeded: same page twice
    everything, _ = sample_token_lengths(path, limit=100)
    assert sorted(everything) == sorted(count_tokens(t) for t in texts)


def test_try_write_report_never_raises(tmp_path, monkeypatch, capsys):
    assert try_write_report(tmp_path) == tmp_path / "report.html"
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert try_write_report(tmp_path / "missing") is None
    assert "could not write" in capsys.readouterr().err

    def broken(run_dir):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "render_report", broken)
    assert try_write_report(tmp_path) is None
    assert "disk full" in capsys.readouterr().err


def _svgs(page: str) -> list[str]:
    uris = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    return [base64.b64decode(u).decode("utf-8") for u in uris]


def test_loss_chart_gets_a_tokens_per_second_axis_when_steps_record_it(tmp_path):
    metrics = write_train(tmp_path)
    (loss_svg,) = [s for s in _svgs(render_report(tmp_path)) if "Training loss" in s]
    assert "tokens/s" not in loss_svg
    for i, point in enumerate(metrics["loss_curve"]):
        point["tokens_per_second_per_gpu"] = 700.0 + i
    write_json(tmp_path / "train" / "metrics.json", metrics)
    (loss_svg,) = [s for s in _svgs(render_report(tmp_path)) if "Training loss" in s]
    assert "tokens/s" in loss_svg


def test_outputs_without_a_manifest_entry_are_shown_and_labelled(tmp_path):
    write_package(tmp_path)
    (tmp_path / "manifest.json").unlink()
    sec = sections(render_report(tmp_path))
    assert "outputs present, not in manifest.json" in sec["package"]
    assert "not run yet: nothing to show" not in sec["package"]
    assert "3 agreed (3 required): ok" in sec["package"]
