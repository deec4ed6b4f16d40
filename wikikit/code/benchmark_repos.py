"""CodeWikiBench's 22 repositories: the benchmark's `repo_name`, where each lives, its language.

Read in FSoft-AI4Code/CodeWikiBench README.md ("Dataset Overview": JS/TS, Python, C, C++, C#,
Java groups) and the Hub dataset anhnh2002/codewikibench (one `train` split of 22 rows keyed by
`repo_name`, each with its `commit_id`), 2026-12-01. `repo_name` is bare, so the GitHub homes
are written here (the flagship recipe's checkouts). This is the one list every part of wikikit
uses for "the benchmark": holding it out of training, and judging on it.
"""

from __future__ import annotations

from dataclasses import dataclass

BENCHMARK = "codewikibench"


@dataclass(frozen=True)
class BenchmarkRepo:
    name: str  # the dataset's repo_name
    github: str  # owner/name on GitHub
    language: str  # the README's group: JS/TS, Python, C, C++, C#, Java

    @property
    def url(self) -> str:
        return f"https://github.com/{self.github}"


CODEWIKIBENCH_REPOS: tuple[BenchmarkRepo, ...] = tuple(
    BenchmarkRepo(name, github, language)
    for language, rows in (
        ("JS/TS", (("Chart.js", "chartjs/Chart.js"), ("marktext", "marktext/marktext"),
                   ("puppeteer", "puppeteer/puppeteer"), ("storybook", "storybookjs/storybook"),
                   ("mermaid", "mermaid-js/mermaid"), ("svelte", "sveltejs/svelte"))),
        ("Python", (("graphrag", "microsoft/graphrag"), ("rasa", "RasaHQ/rasa"),
                    ("OpenHands", "All-Hands-AI/OpenHands"))),
        ("C", (("qmk_firmware", "qmk/qmk_firmware"), ("libsql", "tursodatabase/libsql"),
               ("sumatrapdf", "sumatrapdfreader/sumatrapdf"), ("wazuh", "wazuh/wazuh"))),
        ("C++", (("electron", "electron/electron"), ("x64dbg", "x64dbg/x64dbg"),
                 ("json", "nlohmann/json"))),
        ("C#", (("FluentValidation", "FluentValidation/FluentValidation"),
                ("git-credential-manager", "git-ecosystem/git-credential-manager"),
                ("ml-agents", "Unity-Technologies/ml-agents"))),
        ("Java", (("logstash", "elastic/logstash"),
                  ("material-components-android", "material-components/material-components-android"),
                  ("trino", "trinodb/trino"))),
    )
    for name, github in rows
)  # fmt: skip


def benchmark_repo(name: str) -> BenchmarkRepo | None:
    """The benchmark row a repository name (bare, owner/name or URL) names, or None."""
    from wikikit.code.holdout import Holdout

    return next((r for r in CODEWIKIBENCH_REPOS if Holdout([r.github, r.name]).matches(name)), None)
