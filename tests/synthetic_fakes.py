"""A scripted teacher for the synthetic generators (answers in each generator's format), a small
repository to document, and a recipe that points a synthetic source at both."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

from teacher_fakes import last_user_text

SHOP_FILES = {
    "shop/__init__.py": '"""A tiny shop."""\n',
    "shop/cart.py": textwrap.dedent(
        '''\
        """Shopping cart: items, quantities and totals."""

        from shop.pricing import price_of


        class CartError(Exception):
            """Raised when an item cannot be added."""


        class Cart:
            """A customer's cart."""

            def __init__(self):
                self.items = {}

            def add(self, sku: str, qty: int = 1) -> None:
                if qty <= 0:
                    raise CartError("quantity must be positive")
                self.items[sku] = self.items.get(sku, 0) + qty

            def remove(self, sku: str) -> None:
                self.items.pop(sku, None)

            def total(self) -> float:
                return sum(price_of(sku) * qty for sku, qty in self.items.items())
        '''
    ),
    "shop/pricing.py": textwrap.dedent(
        '''\
        """Prices and discounts."""

        PRICES = {"apple": 0.5, "pear": 0.75, "melon": 2.0}


        def price_of(sku: str) -> float:
            """The unit price of `sku`; unknown items cost nothing."""
            return PRICES.get(sku, 0.0)


        def discount(total: float, code: str | None) -> float:
            """Apply a discount code to a total."""
            if code == "HALF":
                return total / 2
            if code == "TENOFF":
                return max(0.0, total - 10)
            return total


        def describe(sku: str) -> str:
            return f"{sku}: {price_of(sku):.2f}"
        '''
    ),
    "README.md": "# shop\n\nA tiny shop used to test wikikit.\n",
}


def make_shop_repo(root: Path) -> Path:
    for rel, text in SHOP_FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def write_recipe(path: Path, source: dict[str, Any]) -> Path:
    import yaml

    recipe = {
        "wikikit": 1,
        "name": "synth-test",
        "seed": 3,
        "model": {"base": "tiny-gpt-oss", "format": "harmony"},
        "data": {
            "mix": {"synthetic": {"weight": 1.0, "sources": ["distill"]}},
            "sources": {"distill": source},
        },
    }
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def _system(body: dict[str, Any]) -> str:
    if isinstance(body.get("system"), str):
        return body["system"]
    if isinstance(body.get("system"), list):  # Anthropic text blocks (prompt-cache marks)
        return "".join(b.get("text", "") for b in body["system"])
    for m in body.get("messages") or []:
        if m.get("role") == "system":
            return m.get("content") or ""
    return ""


def _doc(path: str) -> str:
    return (
        f"## Overview\n\nThe module `{path}` keeps the cart logic.\n\n"
        f"**Source:** [`{path}:1-5`]({path}#L1-L5)\n\n```python\nclass Cart: ...\n```\n\n"
        "## Errors\n\nInvalid quantities raise an error.\n\n"
        "```mermaid\nsequenceDiagram\n    User->>Cart: add(sku)\n```\n"
    )


def wiki_responder(api: str, body: dict[str, Any]) -> str:
    user = last_user_text(body)
    system = _system(body)
    m = re.search(r"File: (\S+) \(\d+ lines\)", user) or re.search(r"Document `([^`]+)`", user)
    path = m.group(1) if m else "shop/cart.py"
    if "You work through tools" in system:
        return plan_tool_turn(body, path)
    if "<question>" in user:
        return (
            "<question>What happens when a quantity is zero?</question>\n"
            "<thinking>add() checks qty before storing it.</thinking>\n"
            f"<answer>It raises CartError. {_doc(path)}</answer>"
        )
    if "<feature>" in user:
        return (
            "<feature>Persist carts between sessions.</feature>\n<thinking>Carts are in memory.</thinking>\n"
            f"<proposal>API changes: save(). Domain model: Cart. Storage: sqlite. Workflow: load on login. "
            f"{_doc(path)}</proposal>"
        )
    if "<instruction>" in user:
        return "<instruction>Explain how errors are reported by this code.</instruction>"
    if '"score"' in user:
        return '{"score": 8, "reason": "grounded"}'
    if "Do not cite paths" in user:
        return "The cart stores items and computes totals."
    return _doc(path)


def plan_tool_turn(body: dict[str, Any], path: str) -> str:
    """A teacher that plans: discover, read (plus one invalid call), write, verify, finish."""
    step = sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")
    if step == 0:
        return "Let me look around.\n" + json.dumps(
            {"tool": "directory_tree", "args": {"path": ".", "depth": 2}}
        )
    if step == 1:
        return "\n".join(
            [
                json.dumps({"tool": "read_file", "args": {"path": path}}),
                json.dumps({"tool": "read_file", "args": {"file": path}}),  # invalid: wrong key
                json.dumps({"tool": "analyze_code_structure", "args": {"filePath": path}}),
            ]
        )
    if step == 2:
        page = {
            "pagePath": "components/cart.md",
            "title": "Cart",
            "content": _doc(path) + "\nSee [pricing](pricing.md).\n",
        }
        return (
            json.dumps({"tool": "write_wiki_page", "args": page})
            + "\n"
            + json.dumps({"tool": "verify_wiki_completeness", "args": {}})
        )
    return "The page is written; the wiki links one missing page, pricing.md."
