"""The dry-run cost of a teacher answering SemanticWiki's local mode, before the client asks.

The client's own rules (its plan prompt's file scan and page-count rule) are checked against
the captured real prompts; the measured prompt sizes against those prompts with the o200k
tokenizer; the dollar figures against a computation of this test's own from the same counts.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from shared_paths import SEMANTICWIKI_PROMPTS

from wikikit.data.sources import SourceContext
from wikikit.data.sources.semanticwiki import plan_lines
from wikikit.recipe.load import load_recipe
from wikikit.semanticwiki import estimate
from wikikit.semanticwiki.protocol import (
    parse_plan_prompt,
    plan_files,
    required_pages,
    source_file_count,
)
from wikikit.teachers.pricing import lookup
from wikikit.tokens import count_tokens

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "demo" / "shop"
needs_prompts = pytest.mark.skipif(
    SEMANTICWIKI_PROMPTS is None, reason="needs ../shared (captured SemanticWiki prompts)"
)


@needs_prompts
def test_the_plan_prompts_file_scan_and_page_rule_are_the_clients():
    user = (SEMANTICWIKI_PROMPTS / "with-rag" / "001-plan.user.txt").read_text()
    plan = parse_plan_prompt(user)
    files = plan_files(SHOP)
    assert sorted(plan.files) == sorted(files)  # the captured run documented demo/shop
    n = source_file_count(files)
    assert f"Total source files: {n}\n" in user
    assert required_pages(n) == (plan.min_pages, plan.max_pages) == (5, 15)
    assert required_pages(200) == (25, 35) and required_pages(41) == (6, 16)


def test_the_file_scan_skips_what_the_client_skips(tmp_path):
    for rel in ("a.py", "b.MD", "c.png", ".hidden/d.py", "node_modules/e.js", "src/f.ts",
                "vendor/g.go", "build/h.c", "docs/i.rst", "j.adoc"):  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    files = plan_files(tmp_path)
    assert files == ["a.py", "b.MD", "docs/i.rst", "src/f.ts"]  # .adoc is not scanned at all
    assert source_file_count(files) == 2


@needs_prompts
def test_the_measured_prompt_sizes_hold_on_the_captured_prompts():
    folder = SEMANTICWIKI_PROMPTS / "with-rag"
    chars = tokens = 0
    for f in sorted(folder.glob("*-page.user.txt")):
        text = f.read_text()
        context = text.split("## Source Code Context\n", 1)[1].split("\n## Documentation Req")[0]
        chars, tokens = chars + len(context), tokens + count_tokens(context)
        template = count_tokens(text) - count_tokens(context)
        assert abs(template - estimate.PAGE_TEMPLATE_TOKENS) <= 3
    assert tokens / chars == pytest.approx(estimate.CODE_TOKENS_PER_CHAR, abs=0.001)
    plan = (folder / "001-plan.user.txt").read_text()
    listed = plan.split("## Project Files\n", 1)[1].split("\n\n## Task")[0]
    assert count_tokens(plan) - count_tokens(listed) == estimate.PLAN_TEMPLATE_TOKENS
    assert count_tokens(listed) / len(listed.splitlines()) == pytest.approx(
        estimate.PLAN_FILE_TOKENS, abs=0.05
    )
    index = (folder / "006-index.user.txt").read_text()
    pages = index.split("Available Pages:\n", 1)[1].split("\n\nRequirements:")[0]
    assert count_tokens(index) - count_tokens(pages) == estimate.INDEX_TEMPLATE_TOKENS
    for kind, n in estimate.SYSTEM_TOKENS.items():
        system = next(folder.glob(f"*-{kind}.system.txt")).read_text()
        assert count_tokens(system) == n, kind


def _recipe(tmp_path: Path, repos: str, *, teacher: str = "", sources: str = "") -> tuple:
    (tmp_path / "r.yaml").write_text(
        "wikikit: 1\nname: t\nmodel: {base: tiny}\ndata:\n  mix: {a: {weight: 1, sources: [sw]}}\n"
        "  sources:\n    sw: &sw\n      kind: semanticwiki\n"
        f"      repos: {repos}\n"
        "      answerer:\n        kind: teacher\n        teacher: {provider: anthropic, "
        f"model: claude-sonnet-5-5, api_key: '${{ANTHROPIC_API_KEY}}', max_usd: 5{teacher}}}\n"
        + sources
    )
    recipe = load_recipe(tmp_path / "r.yaml")
    ctx = SourceContext(
        recipe=recipe, cache_dir=tmp_path / "c", key_path=("data", "sources", "sw"), dry_run=True
    )
    return recipe, ctx


def test_dry_run_prices_every_call_of_a_repository_on_this_machine(tmp_path):
    recipe, ctx = _recipe(tmp_path, f"[{{path: {SHOP}, name: demo/shop}}]", teacher=", batch: true")
    lines = plan_lines("sw", recipe.data["data"]["sources"]["sw"], ctx)
    files = plan_files(SHOP)
    least = required_pages(source_file_count(files))[0]
    pages = least + 5 + 1  # the middle of the required range, plus Getting Started
    assert f"~{pages + 2} calls per repository (plan, ~{pages} pages" in lines[1]
    # this test's own sum: every call at its measured size, answers at half of the limits
    p = lookup("claude-sonnet-5-5")
    page_in = 78 + 360 + round(12_000 * 0.247) + 8
    plan_in = 17 + 466 + round(len(files) * 8.4) + 8
    index_in = 16 + 91 + round(pages * 12.5) + 8
    inputs = plan_in + pages * page_in + index_in
    outputs = 2048 + pages * 2048 + 1024  # min(4096, num_predict) / 2
    plain = (inputs * p.input_per_mtok + outputs * p.output_per_mtok) / 1e6
    cost = re.search(r"plain \$([\d.]+) .*\| batch \$([\d.]+) .*batch \+ caching \$([\d.]+)",
                     lines[2])  # fmt: skip
    assert float(cost[1]) == pytest.approx(plain, abs=0.006)
    assert float(cost[2]) == pytest.approx(plain / 2, abs=0.006)  # half price in batches
    assert float(cost[3]) == float(cost[2])  # nothing cacheable: system prompts are too short
    assert "<- this recipe" in lines[2].split("batch + caching")[1]
    assert any("no prompt prefix is cacheable" in line for line in lines)
    assert any("max_usd $5.00" in line for line in lines)
    page_line = next(line for line in lines if line.strip().startswith("page "))
    assert f"{pages} calls" in page_line and f"{pages} requests" in page_line
    assert not any("not cloned" in line for line in lines)


def test_dry_run_of_uncloned_repositories_says_it_is_an_estimate(tmp_path):
    recipe, ctx = _recipe(
        tmp_path,
        "[https://github.com/example/big, https://github.com/example/other]",
        sources="    again:\n      <<: *sw\n      calls: [plan]\n",
    )
    config = recipe.data["data"]["sources"]["sw"]
    lines = plan_lines("sw", config, ctx)
    # the rule's cap: 25 required pages, 25 + 5 + Getting Started planned
    assert "~33 calls per repository (plan, ~31 pages" in lines[1] and "= ~66 calls" in lines[1]
    note = next(line for line in lines if "not cloned yet" in line)
    assert "2 of 2 repositories" in note and "(26 calls)" in note  # at the floor: 5+5+1+2 each
    assert not (tmp_path / "c").exists()  # a dry run clones nothing
    again = plan_lines("again", recipe.data["data"]["sources"]["again"], ctx)
    assert len(again) == 1 and "the same recording as source 'sw'" in again[0]


def test_flagship_dry_run_prices_its_teacher_pages():
    from wikikit.code.pool import load_pool
    from wikikit.data.pools import with_pool

    recipe = load_recipe(ROOT / "recipes" / "semanticwiki-gpt-oss-20b.yaml")
    key = ("data", "sources", "sw_teacher_pages")
    ctx = SourceContext(recipe=recipe, cache_dir=ROOT / ".cache" / "no-such", key_path=key,
                        dry_run=True)  # fmt: skip
    config = with_pool("sw_teacher_pages", recipe.data["data"]["sources"]["sw_teacher_pages"], ctx)
    lines = plan_lines("sw_teacher_pages", config, ctx)
    repos = len(load_pool(ROOT / "recipes" / "pools" / "pool.yaml"))  # the pool, every line
    assert repos >= 400 and f"on {repos} repositories" in lines[1]
    assert "<- this recipe" in lines[2].split("batch + caching")[1]
    assert "within max_usd $400.00" in lines[4]
    assert any("not cloned yet" in line for line in lines)
    assert math.isfinite(float(re.search(r"plain \$([\d,.]+)", lines[2])[1].replace(",", "")))
    assert not (ROOT / ".cache" / "no-such").exists()  # a dry run pins and clones nothing
