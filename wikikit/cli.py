"""The `wikikit` command line: click commands only; the work happens in the modules they call."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from pathlib import Path

import click

import wikikit
from wikikit import console
from wikikit.children import Terminated, install_handlers
from wikikit.errors import InputError, WikikitError

SET_HELP = "Override a recipe key after `extends`, e.g. --set data.size=500 (value parsed as YAML)."


def _fail(exc: WikikitError) -> None:
    lines = exc.lines if isinstance(exc, InputError) else [str(exc)]
    for line in map(console.printable, lines):
        click.echo(f"error: {line}" if not line.startswith("error:") else line, err=True)
    sys.exit(exc.exit_code)


def _internal_error(exc: BaseException) -> None:
    if os.environ.get("WIKIKIT_DEBUG"):
        traceback.print_exc()
    first = str(exc).splitlines()[0] if str(exc) else ""
    click.echo(
        f"error: internal error: {type(exc).__name__}: {console.printable(first)} "
        "(set WIKIKIT_DEBUG=1 for the traceback)",
        err=True,
    )
    sys.exit(1)


def handle_errors(fn):
    """Turn wikikit errors into one-line messages and exit codes; no tracebacks for users."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except WikikitError as exc:
            _fail(exc)
        except Terminated as exc:
            click.echo(f"error: stopped by {exc} (its child processes ended)", err=True)
            sys.exit(128 + exc.signum)
        except KeyboardInterrupt:
            click.echo("error: interrupted (its child processes ended)", err=True)
            sys.exit(130)
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # a bug: say so in one line; the traceback on request
            _internal_error(exc)
        except BaseException as exc:
            # A Rust library's panic (openai-harmony through pyo3) is a BaseException: a bug too.
            if type(exc).__name__ != "PanicException":
                raise
            _internal_error(exc)

    return wrapper


def _load(recipe: str, overrides: tuple[str, ...] = ()):
    from wikikit.recipe.load import load_recipe

    return _checked(load_recipe(recipe, overrides))


def _checked(recipe):
    """The checks that need a service's knowledge (teacher models: end of life, refusals; the
    pool files a recipe names, line by line)."""
    from wikikit.code.pool import check_recipe as check_pools
    from wikikit.teachers.models import check_recipe

    for line in check_recipe(recipe):
        console.warn(line)
    check_pools(recipe)
    return recipe


@click.group()
@click.version_option(wikikit.__version__, prog_name="wikikit")
@click.option("--quiet", is_flag=True, help="Only warnings and errors.")
@click.option("--json-logs", is_flag=True, help="Machine-readable JSON log lines on stderr.")
def cli(quiet: bool, json_logs: bool) -> None:
    """Turn one YAML recipe into a fine-tuned, evaluated, packaged wiki agent model."""
    install_handlers()  # SIGTERM/SIGHUP end every child process wikikit starts, then wikikit
    console.set_mode("json" if json_logs else "quiet" if quiet else "normal")


@cli.command()
@click.argument("recipes", nargs=-1, required=True)
@click.option("--set", "overrides", multiple=True, help=SET_HELP)
@handle_errors
def validate(recipes: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Validate recipes against the schema and the semantic checks."""
    from wikikit.recipe.load import load_recipe

    failed: list[str] = []
    for path in recipes:
        try:
            r = _checked(load_recipe(path, overrides))
            click.echo(f"{path}: ok ({r.name}, fingerprint {r.fingerprint[:12]})")
        except InputError as exc:
            failed.extend(exc.lines)
    if failed:
        raise InputError(failed[0], failed)


@cli.command()
@click.argument("recipe")
@click.option(
    "--only", type=click.Choice(["data", "train", "package", "eval"]), help="Run just this stage."
)
@click.option(
    "--from",
    "from_",
    type=click.Choice(["data", "train", "package", "eval"]),
    help="Start at this stage.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the stage plan (what would run and why) and stop."
)
@click.option("--set", "overrides", multiple=True, help=SET_HELP)
@click.option(
    "--run-dir", type=click.Path(file_okay=False), help="Run directory (default runs/<name>)."
)
@handle_errors
def run(
    recipe: str,
    only: str | None,
    from_: str | None,
    dry_run: bool,
    overrides: tuple[str, ...],
    run_dir: str | None,
) -> None:
    """Run the recipe's stages: data -> train -> package -> eval."""
    from wikikit import runner

    runner.run(_load(recipe, overrides), only=only, from_=from_, dry_run=dry_run, run_dir=run_dir)


@cli.command()
@click.argument("recipe")
@click.option("--set", "overrides", multiple=True, help=SET_HELP)
@handle_errors
def show(recipe: str, overrides: tuple[str, ...]) -> None:
    """Print the resolved recipe (after extends and --set) as YAML, secrets redacted."""
    click.echo(_load(recipe, overrides).to_yaml(), nl=False)


@cli.command()
@click.argument("which", type=click.Choice(["recipe", "example"]), default="recipe")
@handle_errors
def schema(which: str) -> None:
    """Print a JSON Schema (recipe or example)."""
    from wikikit.recipe.load import load_schema

    click.echo(json.dumps(load_schema(which), indent=2))


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--from",
    "from_",
    default="demo",
    show_default=True,
    help="Recipe to extend: a shipped name or a path.",
)
@handle_errors
def init(path: str, from_: str) -> None:
    """Write a new recipe at PATH that extends another one."""
    from wikikit.recipe.starter import write_starter_recipe

    write_starter_recipe(Path(path), from_)
    click.echo(f"wrote {path}; edit it, then: wikikit validate {path}")


@cli.group()
def mermaid() -> None:
    """Mermaid diagrams, judged by Mermaid's own parser."""


@mermaid.command("check")
@click.argument("files", nargs=-1, required=True)
@handle_errors
def mermaid_check(files: tuple[str, ...]) -> None:
    """Check every mermaid block in markdown FILES; exit 1 if any is invalid."""
    from wikikit.mermaid import check_files

    sys.exit(check_files(list(files)))


@cli.group()
def deepwiki() -> None:
    """DeepWiki pages: what a crawl would get from them."""


@deepwiki.command("parse")
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document for a machine.")
@click.option("--max-mb", default=64, show_default=True, help="Largest file read, in MiB.")
@handle_errors
def deepwiki_parse(files: tuple[str, ...], as_json: bool, max_mb: int) -> None:
    """Per page of saved FILES (HTML page or rendered article, flight stream, MCP text,
    markdown): id, title, sections, Mermaid blocks, references, source files. Exit 2 naming each
    file that gives no page."""
    from wikikit.deepwiki.saved import parse_files

    out, problems = parse_files(list(files), as_json, max_mb)
    if out.strip() and (len(problems) < len(files) or as_json):
        click.echo(out)
    if problems:
        raise InputError(problems[0], problems)


@cli.group()
def pool() -> None:
    """Pools of repositories to learn from."""


@pool.command("site-packages")
@click.argument("names", nargs=-1)
@click.option(
    "--cache",
    "cache_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Where the repositories go (a run's cache: RUN/cache).",
)
@handle_errors
def pool_site_packages(names: tuple[str, ...], cache_dir: str) -> None:
    """Make installed distributions git repositories (`repos: [{site_package: NAME}]`); print
    each one's name, version and commit as a JSON line. No NAME: the shipped pool."""
    from wikikit.code import site_packages

    for name in names or site_packages.TRAIN_POOL + site_packages.HELD_OUT_POOL:
        built = site_packages.build(name, Path(cache_dir), where=f"site-packages {name}")
        row = {"repo": built.repo_name, "name": built.name, "version": built.version,
               "commit": built.commit, "files": built.files, "extensions": built.extensions,
               "path": str(built.root)}  # fmt: skip
        click.echo(json.dumps(row))


@cli.command("make-tiny-model")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--layers", default=2, show_default=True, help="Hidden layers.")
@click.option("--hidden-size", default=64, show_default=True, help="Hidden size.")
@click.option("--experts", default=4, show_default=True, help="Local experts.")
@click.option("--seed", default=0, show_default=True, help="Weight seed.")
@handle_errors
def make_tiny_model(out_dir: str, layers: int, hidden_size: int, experts: int, seed: int) -> None:
    """Build the tiny gpt-oss stand-in (real tokenizer, harmony template, random weights)."""
    from wikikit.train.tinymodel import make_tiny_model as build

    path = build(
        Path(out_dir),
        num_hidden_layers=layers,
        hidden_size=hidden_size,
        num_local_experts=experts,
        seed=seed,
    )
    click.echo(str(path))


def _stage_command(stage: str, doc: str):
    @click.argument("recipe")
    @click.option("--set", "overrides", multiple=True, help=SET_HELP)
    @click.option(
        "--run-dir", type=click.Path(file_okay=False), help="Run directory (default runs/<name>)."
    )
    @handle_errors
    def command(recipe: str, overrides: tuple[str, ...], run_dir: str | None, **extra) -> None:
        from wikikit import runner

        r = _load(recipe, overrides)
        if extra.get("print_config"):
            from wikikit.train.axolotl_config import print_config

            click.echo(
                print_config(r, Path(run_dir) if run_dir else runner.default_run_dir(r)), nl=False
            )
            return
        if extra.get("check_labels"):
            from wikikit.train.labels import DEFAULT_N
            from wikikit.train.stage import label_check

            ctx = runner.make_context(
                r, Path(run_dir) if run_dir else runner.default_run_dir(r), stage
            )
            report = label_check(ctx, extra.get("n") or DEFAULT_N)
            for line in report.lines():
                click.echo(line)
            sys.exit(0 if report.ok else 1)
        if extra.get("model"):
            os.environ["WIKIKIT_EVAL_MODEL"] = extra["model"]
        runner.run(r, only=stage, run_dir=run_dir)

    command.__doc__ = doc
    return command


train = cli.command("train")(
    click.option("--print-config", is_flag=True, help="Print the generated Axolotl YAML and stop.")(
        click.option(
            "--check-labels",
            is_flag=True,
            help="Run Axolotl's preprocessing on a sample of the data and check, per category, "
            "that exactly the model's tokens are trained (exit 1 on a mismatch).",
        )(
            click.option(
                "--n",
                type=click.IntRange(min=1),
                help="Rows per category for --check-labels (default 3).",
            )(_stage_command("train", "Run only the train stage (Axolotl LoRA fine-tune)."))
        )
    )
)
evaluate = cli.command("eval")(
    click.option(
        "--model",
        help="Evaluate this model instead (hf path, gguf file, ollama:NAME or an OpenAI-compatible URL).",
    )(_stage_command("eval", "Run only the eval stage (lm-eval tasks and gates)."))
)
package = cli.command("package")(
    _stage_command("package", "Run only the package stage (GGUF, Modelfile, ollama create).")
)


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@handle_errors
def report(run_dir: str) -> None:
    """Write RUN_DIR/report.html: one self-contained page about the run."""
    from wikikit.report.page import write_report

    click.echo(str(write_report(Path(run_dir))))


@cli.command()
@click.argument("recipe_a")
@click.argument("recipe_b")
@handle_errors
def diff(recipe_a: str, recipe_b: str) -> None:
    """Show what differs between two recipes after extends (secrets redacted)."""
    from wikikit.recipe.diff import diff_recipes

    lines = diff_recipes(_load(recipe_a), _load(recipe_b))
    click.echo("\n".join(lines) if lines else "identical after extends")


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--split",
    type=click.Choice(["train", "validation", "test"]),
    default="train",
    show_default=True,
)
@click.option("--source", help="Only examples from this source kind.")
@click.option("--n", "n", default=3, show_default=True, help="How many examples.")
@click.option("--no-text", is_flag=True, help="Hide the rendered training text.")
@handle_errors
def inspect(run_dir: str, split: str, source: str | None, n: int, no_text: bool) -> None:
    """Pretty-print examples of a run with their rendering and refs."""
    from wikikit.report.inspect import load_examples, print_examples

    print_examples(load_examples(Path(run_dir), split, source, n), show_text=not no_text)


@cli.command("try")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "-r", "--repo", "repo", required=True, help="The repository to document: a path or a git URL."
)
@click.option("--commit", help="Check the repository out at this commit first.")
@click.option(
    "--model", help="Instead of the run's GGUF: a .gguf, http://host:port/v1#name, or ollama:NAME."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Where the wiki goes (default RUN_DIR/try/REPO).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="CPU threads for the bundled model (on a busy CPU, 1: more threads than idle cores crawl).",
)
@click.option("--timeout", "timeout_s", type=float, help="Give up after this many seconds.")
@click.option(
    "--seed", type=click.IntRange(min=0), help="Seed the model's sampling: the same wiki again."
)
@handle_errors
def try_(run_dir: str, repo: str, commit: str | None, model: str | None, out: str | None,
         threads: int | None, timeout_s: float | None, seed: int | None) -> None:  # fmt: skip
    """Let the real SemanticWiki client write a wiki for REPO with the run's packaged model."""
    from wikikit.eval.try_wiki import summary, try_wiki

    tried = try_wiki(Path(run_dir), repo, commit=commit, out=Path(out) if out else None,
                     model=model, timeout_s=timeout_s, threads=threads, seed=seed)  # fmt: skip
    click.echo("\n".join(summary(tried)))


def main() -> None:
    cli(prog_name="wikikit")


if __name__ == "__main__":
    main()
