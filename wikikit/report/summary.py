"""What a finished run prints last: where everything is and what to run next."""

from __future__ import annotations

from pathlib import Path

from wikikit.recipe.load import Recipe

# The most useful output of each stage, shown first in the summary.
KEY_OUTPUTS = {
    "data": ("train.jsonl", "README.md", "quality.json"),
    "train": ("merged", "adapter", "axolotl.yaml", "metrics.json"),
    "package": ("model.gguf", "Modelfile", "package.json"),
    "eval": ("results.md", "results.json", "wikis"),
}


def run_summary(recipe: Recipe, run_dir: Path, manifest: dict) -> list[str]:
    stages = manifest.get("stages", {})
    lines = [f"Run {recipe.name} is in {run_dir}/"]
    for stage, wanted in KEY_OUTPUTS.items():
        entry = stages.get(stage)
        if not entry:
            continue
        found = [name for name in wanted if (run_dir / stage / name).exists()]
        where = ", ".join(f"{run_dir / stage / name}" for name in found) or str(run_dir / stage)
        lines.append(f"  {stage:8s} {entry.get('status', '?'):5s} {entry.get('summary', '')}")
        lines.append(f"           {where}")
    if (run_dir / "report.html").exists():
        lines.append(f"  report   {run_dir / 'report.html'} (open it in a browser)")
    lines.append("Next:")
    lines.append(f"  wikikit inspect {run_dir} --n 3          # look at training examples")
    if (run_dir / "package" / "model.gguf").exists():
        lines.append(
            f"  wikikit try {run_dir} -r ./your-repo     # the client writes a wiki with it"
        )
    gguf = run_dir / "package" / "model.gguf"
    if gguf.exists():
        name = (recipe.data.get("package") or {}).get("ollama", {}).get("name", recipe.name)
        lines.append(f"  cd {run_dir / 'package'} && ollama create {name} -f Modelfile")
        lines.append(
            f"  semanticwiki generate -r ./your-repo --full-local --use-ollama --local-model {name}"
        )
        lines.append(
            f"  semanticwiki generate -r ./your-repo --full-local --model-path {gguf.resolve()}"
        )
    if recipe.data.get("model", {}).get("base") == "tiny-gpt-oss":
        lines.append(
            "  the real thing, on a GPU box with ANTHROPIC_API_KEY set:"
            " wikikit run recipes/semanticwiki-gpt-oss-20b.yaml --dry-run"
        )
    return lines
