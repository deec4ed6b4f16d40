"""semanticwiki_page: SemanticWiki's page prompts for held-out repos, scored as a wiki page.

Items come from the data stage's held-out files when the eval stage points at them
(WIKIKIT_EVAL_ITEMS: a folder holding semanticwiki_page.jsonl; WIKIKIT_EVAL_REPOS: JSON
{repo: {"root", "commit"}} of their checkouts), else from the few shipped in test.jsonl (built
from demo/ledger by eval_tasks/make_datasets.py, each carrying its files). Items are built in
one place, wikikit.semanticwiki.items; scores are wikikit.eval.wiki.answer's.
"""

import json
import os
from functools import lru_cache
from pathlib import Path

from wikikit.code.repo import Repo
from wikikit.errors import InputError
from wikikit.eval.metrics import ratio  # noqa: F401  - used by the YAML's aggregation
from wikikit.eval.metrics.answer import final_text
from wikikit.eval.metrics.prompts import prompt_style, render_harmony
from wikikit.eval.metrics.taskdata import payload, read_rows
from wikikit.eval.wiki.answer import score_page_answer
from wikikit.eval.wiki.refs import FileMap, RepoFacts
from wikikit.semanticwiki.items import prompt_of

ITEMS_ENV = "WIKIKIT_EVAL_ITEMS"
REPOS_ENV = "WIKIKIT_EVAL_REPOS"
TASK = "semanticwiki_page"
EFFORT = "medium"  # node-llama-cpp's HarmonyChatWrapper writes `Reasoning: medium`


def items_path() -> Path:
    folder = os.environ.get(ITEMS_ENV)
    if folder:
        path = Path(folder) / f"{TASK}.jsonl"
        if not path.is_file():
            raise InputError(f"{ITEMS_ENV}={folder}: no {TASK}.jsonl there")
        return path
    return Path(__file__).with_name("test.jsonl")


def load(**kwargs):
    import datasets

    plain = prompt_style() == "plain"
    rows = []
    for r in read_rows(items_path()):
        system, user = prompt_of(r)  # shipped items are compact: the template is added here
        r = {**r, "system": system, "user": user}
        payload = json.dumps(r, ensure_ascii=False)
        rows.append({"id": r["id"], "payload": payload, "system": system if plain else ""})
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def doc_to_text(doc) -> str:
    item = payload(doc)
    if prompt_style() == "harmony":
        return render_harmony(item["system"], item["user"], effort=EFFORT)
    return item["user"]


def doc_to_target(doc) -> str:
    return ""


@lru_cache(maxsize=64)
def _checkout(repo: str) -> RepoFacts:
    known = json.loads(os.environ.get(REPOS_ENV) or "{}")
    if repo not in known:
        raise InputError(f"{TASK}: no checkout of {repo} ({REPOS_ENV} lists {sorted(known)})")
    entry = known[repo]
    return RepoFacts(Repo(Path(entry["root"]), repo, entry.get("commit")))


def process_results(doc, results):
    item = payload(doc)
    facts = RepoFacts(FileMap(item["files"])) if item.get("files") else _checkout(item["repo"])
    return score_page_answer(final_text(results[0]), item, facts)
