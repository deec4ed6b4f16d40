"""The report's data section shows what was held out and how each DeepWiki crawl went."""

from __future__ import annotations

import re

from wikikit.atomic import write_json
from wikikit.report.page import render_report


def test_held_out_counts_and_crawl_outcomes_are_shown(tmp_path):
    write_json(tmp_path / "manifest.json", {"recipe": "r", "stages": {"data": {"status": "done"}}})
    write_json(
        tmp_path / "data" / "quality.json",
        {
            "sources": {"cwb": {"generated": 9, "held_out": 4, "kept": 5}},
            "holdout": {
                "repos": ["OpenHands"],
                "examples_dropped": {"cwb": 4},
                "repos_skipped": {"dw": 1},
            },
        },
    )
    write_json(
        tmp_path / "data" / "deepwiki" / "dw.json",
        {
            "summary": {
                "repos": 3,
                "by_status": {"fetched": 1, "failed": 1, "no_wiki": 1},
                "held_out": 1,
                "pages": 11,
                "requests": 4,
                "stopped": None,
            },
            "repos": [
                {"repo": "a/b", "status": "fetched", "pages": 11, "requests": 1},
                {"repo": "c/d", "status": "failed", "reason": "HTTP 500 <script>"},
                {"repo": "e/f", "status": "no_wiki", "reason": "HTTP 404"},
                {"repo": "All-Hands-AI/OpenHands", "status": "held_out"},
            ],
        },
    )
    page = render_report(tmp_path)
    data = dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', page, flags=re.S))["data"]
    assert "held out of every source: OpenHands" in data
    assert "<th>held out</th>" in data and "DeepWiki source dw" in data
    assert (
        "HTTP 500 &lt;script&gt;" in data and "<script>" not in data.split("DeepWiki source dw")[1]
    )
    assert "All-Hands-AI/OpenHands" in data and "requests / repo" in data


def test_the_benchmark_held_out_whole_and_its_decontamination_are_shown(tmp_path):
    write_json(tmp_path / "manifest.json", {"recipe": "r", "stages": {"data": {"status": "done"}}})
    write_json(
        tmp_path / "data" / "quality.json",
        {
            "holdout": {
                "repos": ["codewikibench"],
                "held_out_repos": ["chartjs/Chart.js", "trinodb/trino"],
                "examples_dropped": {"extra": 3},
                "repos_skipped": {"cwb": 2},
            },
            "decontaminate": {
                "enabled": True,
                "ngram": 13,
                "threshold": 0.5,
                "dropped": 0,
                "benchmark": {"rows": 2, "repos": ["Chart.js", "trino"], "dropped": {"extra": 1}},
            },
        },
    )
    page = render_report(tmp_path)
    data = dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', page, flags=re.S))["data"]
    assert "held out of every source: codewikibench (2 repositories: chartjs/Chart.js" in data
    assert "benchmark rows&#x27; documentation (2 row(s)): 1 example(s) dropped: extra 1" in data
