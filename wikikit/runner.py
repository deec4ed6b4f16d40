"""The run engine: stages in order, run directory, manifest, skip-if-unchanged, resume.

runs/<name>/manifest.json records the recipe fingerprint, tool versions and, per stage, its
fingerprint (recipe sections it reads + its input stages' fingerprints + wikikit's version),
status, outputs (with sizes and hashes), counts and timings. A stage whose fingerprint is
unchanged and whose outputs are intact is skipped. Every file is written atomically, so a killed
run leaves no partial file under a final name; the next run clears temporaries and redoes the
interrupted stage (which may resume from its cache: HTTP cache, teacher cache, checkpoints).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import wikikit
from wikikit import console
from wikikit.atomic import remove_partials, write_json
from wikikit.errors import InputError, StageNotImplemented, WikikitError
from wikikit.recipe.load import Recipe
from wikikit.stage import (
    STAGE_INPUT_FILES,
    STAGE_INPUTS,
    STAGE_INPUTS_ANY,
    STAGE_MODULES,
    STAGE_SECTIONS,
    STAGES,
    StageContext,
    StageResult,
)

HASH_LIMIT = 64 * 1024 * 1024  # files above this are checked by size only (models are GBs)
TOOL_PACKAGES = (
    "axolotl",
    "transformers",
    "peft",
    "torch",
    "lm_eval",
    "datasets",
    "openai-harmony",
    "datasketch",
    "scrapy",
    "gguf",
)


def default_run_dir(recipe: Recipe) -> Path:
    return Path("runs") / recipe.name


def tool_versions() -> dict[str, str]:
    out = {"wikikit": wikikit.__version__, "python": platform.python_version()}
    for pkg in TOOL_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def _file_digest(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    rec: dict[str, Any] = {"size": size}
    if size <= HASH_LIMIT:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        rec["sha256"] = h.hexdigest()
    return rec


def describe_outputs(out_dir: Path, outputs: list[str]) -> dict[str, dict[str, Any]]:
    """Every output file (directories expanded) with its size and hash."""
    files: dict[str, dict[str, Any]] = {}
    for rel in outputs:
        p = out_dir / rel
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    files[f.relative_to(out_dir).as_posix()] = _file_digest(f)
        elif p.is_file():
            files[rel] = _file_digest(p)
        else:
            raise WikikitError(f"stage reported output {rel} but {p} does not exist")
    return files


def outputs_intact(out_dir: Path, files: dict[str, dict[str, Any]]) -> str | None:
    """None if every recorded output is present and unchanged, else why not."""
    for rel, rec in files.items():
        p = out_dir / rel
        if not p.is_file():
            return f"output {rel} is missing"
        if p.stat().st_size != rec["size"]:
            return f"output {rel} changed"
        if "sha256" in rec and _file_digest(p).get("sha256") != rec["sha256"]:
            return f"output {rel} changed"
    return None


def input_file_digests(recipe: Recipe, stage: str) -> dict[str, dict[str, Any]]:
    """Size and hash (or, past HASH_LIMIT, size and mtime) of each local file the stage reads
    that the recipe names (STAGE_INPUT_FILES)."""
    if stage not in STAGE_INPUT_FILES:
        return {}
    module = importlib.import_module(STAGE_INPUT_FILES[stage])
    digests: dict[str, dict[str, Any]] = {}
    for path in module.input_files(recipe):
        rec = _file_digest(path)
        if "sha256" not in rec:
            rec["mtime_ns"] = path.stat().st_mtime_ns
        digests[str(path)] = rec
    return digests


def input_files_changed(before: dict[str, Any], now: dict[str, Any]) -> str:
    changed = sorted(p for p in before.keys() | now.keys() if before.get(p) != now.get(p))
    more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
    return f"input file {changed[0]}{more} changed"


@dataclass
class StagePlan:
    stage: str
    fingerprint: str
    section_fingerprint: str
    input_fingerprints: dict[str, str]
    action: str  # "run" | "skip"
    reason: str
    input_files: dict[str, dict[str, Any]] = field(default_factory=dict)


class Manifest:
    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, Any] = {}
        if path.exists():
            try:
                self.data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                console.warn(f"{path}: unreadable manifest, starting fresh")
        self.data.setdefault("stages", {})

    def stage(self, name: str) -> dict[str, Any]:
        return self.data["stages"].get(name, {})

    def save(self) -> None:
        write_json(self.path, self.data)


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / ".lock").open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WikikitError(f"{run_dir} is in use by another wikikit run") from None
        yield


def select_stages(recipe: Recipe, only: str | None, from_: str | None) -> list[str]:
    wanted = [s for s in STAGES if s in recipe.stages]
    if only:
        if only not in STAGES:
            raise InputError(f"--only {only}: unknown stage (choose from {', '.join(STAGES)})")
        if only not in wanted:
            raise InputError(f"--only {only}: the recipe's `stages` does not include {only}")
        return [only]
    if from_:
        if from_ not in STAGES:
            raise InputError(f"--from {from_}: unknown stage (choose from {', '.join(STAGES)})")
        return [s for s in wanted if STAGES.index(s) >= STAGES.index(from_)]
    return wanted


def stage_inputs(recipe: Recipe, stage: str) -> tuple[str, ...]:
    """The stages `stage` reads with this recipe: its module's `inputs(section)` when it has
    one (wikikit.stage), else STAGE_INPUTS."""
    try:
        module = _load_stage_module(stage)
    except StageNotImplemented:
        return tuple(STAGE_INPUTS[stage])
    choose = getattr(module, "inputs", None)
    if choose is None:
        return tuple(STAGE_INPUTS[stage])
    chosen = tuple(choose(recipe.data.get(stage) or {}))
    allowed = STAGE_INPUTS_ANY[stage]
    if any(dep not in allowed for dep in chosen):
        raise WikikitError(f"stage {stage}: inputs {chosen} not among {allowed}")
    return chosen


def plan_stages(
    recipe: Recipe, manifest: Manifest, run_dir: Path, stages: list[str]
) -> list[StagePlan]:
    plans: list[StagePlan] = []
    fingerprints: dict[str, str] = {}
    for stage in STAGES:
        section_fp = recipe.fingerprint_of(STAGE_SECTIONS[stage])
        inputs = {}
        for dep in stage_inputs(recipe, stage):
            inputs[dep] = fingerprints.get(dep) or manifest.stage(dep).get("fingerprint", "")
        files = input_file_digests(recipe, stage)
        # Without named files the fingerprint is what it always was: old runs stay up to date.
        payload = [stage, wikikit.__version__, section_fp, inputs] + ([files] if files else [])
        fp = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        fingerprints[stage] = fp
        if stage not in stages:
            continue
        prev = manifest.stage(stage)
        action, reason = "run", ""
        if not prev:
            reason = "never run"
        elif prev.get("status") != "done":
            reason = f"previous run {prev.get('status', 'interrupted')}"
        elif prev.get("fingerprint") == fp:
            broken = outputs_intact(run_dir / stage, prev.get("outputs", {}))
            if broken:
                reason = broken
            else:
                action, reason = "skip", "up to date"
        elif prev.get("section_fingerprint") != section_fp:
            reason = f"recipe section(s) {', '.join(STAGE_SECTIONS[stage])} changed"
        elif prev.get("wikikit") != wikikit.__version__:
            reason = "wikikit version changed"
        elif prev.get("input_files", {}) != files:
            reason = input_files_changed(prev.get("input_files", {}), files)
        else:
            changed = [d for d, f in inputs.items() if prev.get("inputs", {}).get(d) != f]
            reason = f"input stage(s) {', '.join(changed) or '?'} changed"
        for dep in inputs:
            if dep not in stages and manifest.stage(dep).get("status") != "done":
                raise WikikitError(
                    f"stage {stage} needs the {dep} stage's outputs: run `wikikit run --only {dep}` first"
                )
        plans.append(StagePlan(stage, fp, section_fp, inputs, action, reason, files))
    return plans


def _load_stage_module(stage: str):
    name = STAGE_MODULES[stage]
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise StageNotImplemented(f"stage '{stage}' is not implemented yet") from None
        raise
    if not hasattr(module, "run_stage"):
        raise StageNotImplemented(f"stage '{stage}' is not implemented yet")
    return module


def make_context(recipe: Recipe, run_dir: Path, stage: str, dry_run: bool = False) -> StageContext:
    return StageContext(
        recipe=recipe,
        stage=stage,
        run_dir=run_dir,
        out_dir=run_dir / stage,
        cache_dir=run_dir / "cache" / stage,
        inputs={dep: run_dir / dep for dep in stage_inputs(recipe, stage)},
        dry_run=dry_run,
    )


def run(
    recipe: Recipe,
    *,
    only: str | None = None,
    from_: str | None = None,
    dry_run: bool = False,
    run_dir: str | Path | None = None,
) -> list[StagePlan]:
    """Run (or with dry_run, only plan) the recipe's stages; returns the plan that was followed."""
    # Absolute from here on: stages hand paths to child processes that run in other folders.
    run_dir = (Path(run_dir) if run_dir else default_run_dir(recipe)).absolute()
    stages = select_stages(recipe, only, from_)
    manifest = Manifest(run_dir / "manifest.json")
    plans = plan_stages(recipe, manifest, run_dir, stages)
    if dry_run:
        console.info(f"plan for {recipe.name} in {run_dir}:")
        for p in plans:
            verb = "up to date" if p.action == "skip" else f"would run ({p.reason})"
            console.info(f"  {p.stage:8s} {verb}")
            if p.action == "run":
                with contextlib.suppress(StageNotImplemented):
                    module = _load_stage_module(p.stage)
                    if hasattr(module, "plan"):
                        for line in module.plan(
                            make_context(recipe, run_dir, p.stage, dry_run=True)
                        ):
                            console.info(f"           {line}")
        return plans
    with run_lock(run_dir):
        manifest.data.update(
            {
                "recipe": recipe.name,
                "recipe_fingerprint": recipe.fingerprint,
                "versions": tool_versions(),
            }
        )
        try:
            for p in plans:
                if p.action == "skip":
                    console.info(f"[{p.stage}] up to date")
                    continue
                _run_one(recipe, run_dir, manifest, p)
        finally:
            from wikikit.report.page import try_write_report

            try_write_report(run_dir)  # after every run, failed ones too; never raises
    from wikikit.report.summary import run_summary

    for line in run_summary(recipe, run_dir, manifest.data):
        console.info(line)
    return plans


def _run_one(recipe: Recipe, run_dir: Path, manifest: Manifest, p: StagePlan) -> None:
    ctx = make_context(recipe, run_dir, p.stage)
    removed = remove_partials(ctx.out_dir) + remove_partials(ctx.cache_dir)
    console.info(
        f"[{p.stage}] running ({p.reason})"
        + (f"; cleared {removed} partial file(s)" if removed else "")
    )
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    ctx.cache_dir.mkdir(parents=True, exist_ok=True)
    entry = {
        "status": "running",
        "fingerprint": p.fingerprint,
        "section_fingerprint": p.section_fingerprint,
        "inputs": p.input_fingerprints,
        **({"input_files": p.input_files} if p.input_files else {}),
        "wikikit": wikikit.__version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    manifest.data["stages"][p.stage] = entry
    manifest.save()
    start = time.monotonic()
    try:
        module = _load_stage_module(p.stage)
        result: StageResult = module.run_stage(ctx)
    except BaseException as exc:
        entry["status"] = "not implemented" if isinstance(exc, StageNotImplemented) else "failed"
        entry["error"] = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
        entry["seconds"] = round(time.monotonic() - start, 3)
        manifest.save()
        raise
    entry.update(
        {
            "status": "done",
            "outputs": describe_outputs(ctx.out_dir, result.outputs),
            "counts": result.counts,
            "summary": result.summary,
            "seconds": round(time.monotonic() - start, 3),
        }
    )
    entry.pop("error", None)
    manifest.save()
    console.info(
        f"[{p.stage}] done in {entry['seconds']:.1f}s"
        + (f": {result.summary}" if result.summary else "")
    )
