"""`wikikit diff` and `wikikit inspect`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from wikikit.cli import cli


def test_diff_shows_changed_added_and_removed_keys_with_secrets_redacted(tmp_path, monkeypatch):
    monkeypatch.setenv("KEY_A", "sk-very-secret")
    (tmp_path / "a.yaml").write_text(
        "wikikit: 1\nname: a\nmodel: {base: m}\neval: {limit: 5, compare_base: true,"
        " judge: {provider: openai, model: j, api_key: '${KEY_A}'}}\n"
    )
    (tmp_path / "b.yaml").write_text(
        "wikikit: 1\nname: b\nextends: a.yaml\neval: {limit: 7, backend: hf}\n"
    )
    result = CliRunner().invoke(cli, ["diff", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert '~ name: "a" -> "b"' in lines
    assert "~ eval.limit: 5 -> 7" in lines
    assert any(ln.startswith('+ eval.backend: "hf"') and "b.yaml:4" in ln for ln in lines)
    assert "sk-very-secret" not in result.output
    same = CliRunner().invoke(cli, ["diff", str(tmp_path / "a.yaml"), str(tmp_path / "a.yaml")])
    assert same.output.strip() == "identical after extends"


def test_inspect_filters_by_source_and_reports_missing_data(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows = [
        {
            "id": f"e{i}",
            "source": src,
            "category": "qa",
            "language": "python",
            "repo": "r@1",
            "refs": [{"path": "a.py", "start": 1, "end": 3}],
            "messages": [
                {"role": "user", "content": f"question {i}"},
                {
                    "role": "assistant",
                    "content": f"answer {i}: 📄 [shop/cart.py:12](../shop/cart.py#L12) [bold]x[/]",
                },
            ],
            "text": f"<|start|>user<|message|>question {i}<|end|>",
        }
        for i, src in enumerate(["jsonl", "traceability", "traceability"])
    ]
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(
        cli, ["inspect", str(tmp_path), "--source", "traceability", "--n", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "e1" in result.output and "e2" in result.output and "e0" not in result.output
    assert "a.py:1-3" in result.output and "answer 2" in result.output
    # Verbatim: rich markup would swallow `[shop/cart.py:12]` and `[bold]`.
    assert "📄 [shop/cart.py:12](../shop/cart.py#L12) [bold]x[/]" in result.output
    missing = CliRunner().invoke(cli, ["inspect", str(tmp_path), "--split", "test"])
    assert missing.exit_code == 2 and "run the data stage first" in missing.stderr
