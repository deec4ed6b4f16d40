"""Write demo/codewikibench/shop.jsonl: a one-repo CodeWikiBench-format dataset about demo/shop.

The documentation below was written by hand for the frozen demo/shop code, in CodeWiki's
`structured_docs` shape (root -> pages with `content` {page heading: {section: text | list}}
and nested `subpages`); `docs_tree` is derived from it the way CodeWikiBench does (every text
replaced by <detail_content>), and `rubrics` is the judge's requirement tree for the eval stage.
Every `path:start-end` reference points at real lines of demo/shop. Run it after editing the
docs: `python demo/build_codewikibench.py` (uses `datasets`, as the source loads it).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_NAME = "demo/shop"


def page(title: str, heading: str, sections: dict, subpages: list | None = None) -> dict:
    return {
        "title": title,
        "description": None,
        "content": {heading: sections},
        "metadata": {"source": "codewiki"},
        "subpages": subpages or [],
    }


PAGES = [
    page(
        "overview",
        "Shop Overview",
        {
            "Architecture Overview": (
                "The shop is organised in three layers. `shop.api.ShopApi` is the adapter layer "
                "(shop/api.py:12-23); `Cart`, `Catalog` and the pricing functions form the domain "
                "layer (shop/cart.py:15-42, shop/pricing.py:37-46); `OrderService` is the service "
                "layer that owns every side effect (shop/orders.py:18-22). Dependencies point "
                "downwards only.\n\n"
                "```mermaid\ngraph LR\n    api[shop.api] --> cart[shop.cart]\n"
                "    api --> orders[shop.orders]\n    cart --> pricing[shop.pricing]\n"
                "    pricing --> catalog[shop.catalog]\n    orders --> inventory[shop.inventory]\n"
                "    orders --> payments[shop.payments]\n    orders --> storage[shop.storage]\n```"
            ),
            "Data Flow": [
                "A client calls `POST /cart/items`; `ShopApi.add_to_cart()` creates or updates the "
                "customer's `Cart` (shop/api.py:38-41).",
                "**Checkout**:",
                [
                    "`ShopApi.checkout()` sets the discount code and calls `OrderService.place_order()` (shop/api.py:43-50)",
                    "the cart is quoted, stock reserved, the total charged and the order saved (shop/orders.py:24-55)",
                    "the API returns the order id and total and forgets the cart",
                ],
            ],
            "Component Interaction": (
                "Components talk through small interfaces: the order service receives an "
                "`Inventory`, any `PaymentGateway` and an `OrderStore` in its constructor "
                "(shop/orders.py:18-22), so tests pass `FakeGateway` (shop/payments.py:21-39) and a "
                "temporary directory instead of real services."
            ),
        },
    ),
    page(
        "catalog_pricing",
        "Catalog and Pricing Module",
        {
            "Core Components": {
                "Product": (
                    "`Product` (shop/catalog.py:9-15) is an immutable record: `sku`, `name`, "
                    "`price_cents` and `tags`. Integer cents keep every later sum exact."
                ),
                "Catalog": (
                    "`Catalog` (shop/catalog.py:22-47) indexes products by SKU. `get()` raises "
                    "`UnknownProduct` for a missing SKU, `search()` matches a lower-cased name "
                    "substring and an optional tag, and `add()` refuses negative prices. "
                    "`default_catalog()` (shop/catalog.py:50-58) seeds four products."
                ),
            },
            "Pricing Pipeline": (
                "`quote()` (shop/pricing.py:37-46) returns a breakdown with `subtotal`, `discount`, "
                "`tax` and `total`. The subtotal is the sum of `line_total()` over the items "
                "(shop/pricing.py:15-17); `apply_discount()` (shop/pricing.py:20-29) handles the "
                "`HALF` (percent) and `TENOFF` (fixed) codes; `tax()` (shop/pricing.py:32-34) "
                "charges 8% rounded half up.\n\n"
                "```mermaid\nflowchart LR\n    s[subtotal] --> d[apply_discount]\n"
                "    d --> t[tax]\n    t --> q[total]\n```"
            ),
        },
    ),
    page(
        "cart",
        "Cart Module",
        {
            "Cart Component": (
                "`Cart` (shop/cart.py:15-42) holds `items` (SKU to quantity) and an optional "
                "`discount_code` for one customer. It keeps no prices; `Cart.quote()` "
                "(shop/cart.py:38-39) asks `shop.pricing.quote()` each time."
            ),
            "Validation Rules": [
                "quantities must be positive, else `CartError` (shop/cart.py:23-25)",
                "the SKU must exist: `Catalog.get()` is called before the cart changes (shop/cart.py:26)",
                "no line may exceed `MAX_QTY` = 99 units (shop/cart.py:8, shop/cart.py:27-30)",
            ],
            "Interaction with Checkout": (
                "Checkout reads `Cart.items` and `Cart.quote()`; an invalid discount code set "
                "with `set_discount()` (shop/cart.py:35-36) only fails when the cart is quoted, and "
                "`place_order()` turns that into a `CheckoutError` (shop/orders.py:28-31)."
            ),
        },
    ),
    page(
        "orders",
        "Orders Module",
        {
            "Checkout Workflow": (
                "`OrderService.place_order()` (shop/orders.py:24-55) runs a saga of four steps, "
                "each compensated if a later one fails.\n\n"
                "```mermaid\nsequenceDiagram\n    participant S as OrderService\n"
                "    participant I as Inventory\n    participant G as Gateway\n"
                "    participant D as OrderStore\n    S->>I: reserve(items)\n"
                "    S->>G: charge(total)\n    S->>D: save(order)\n    S->>I: commit(items)\n```"
            ),
            "Error Handling Flow": [
                "payment declined: `Inventory.release()` then `CheckoutError` (shop/orders.py:34-38)",
                "storage failure: `refund()` and `release()`, then the `OSError` propagates (shop/orders.py:48-52)",
                "out of stock: `Inventory.reserve()` raises before anything changed (shop/inventory.py:27-34)",
            ],
            "Order Store Component": (
                "`OrderStore` (shop/storage.py:11-30) persists each order as `<id>.json`. `save()` "
                "(shop/storage.py:19-24) writes a `.tmp` file then `os.replace`s it, an atomic "
                "rename, so readers never see a partial order. `cancel()` (shop/orders.py:57-65) "
                "refunds and re-saves the order with status `cancelled`."
            ),
        },
    ),
    page(
        "inventory_payments",
        "Inventory and Payments Modules",
        {
            "Inventory Component": (
                "`Inventory` (shop/inventory.py:16-46) keeps `_stock` and `_reserved` per SKU behind "
                "a lock. `reserve()` validates every line first and applies them only if all fit, "
                "so reservations are atomic; `OutOfStock` (shop/inventory.py:8-13) carries the SKU, "
                "the wanted and the free quantity. `commit()` (shop/inventory.py:41-46) turns a "
                "reservation into a sale."
            ),
            "Payment Interface": (
                "`PaymentGateway` (shop/payments.py:13-18) is a `typing.Protocol` with `charge()` and "
                "`refund()`. `FakeGateway` (shop/payments.py:21-39) implements it in memory, "
                "declining charges above `limit_cents` with `PaymentError`."
            ),
        },
    ),
    page(
        "api",
        "API Module",
        {
            "API Handler Design": (
                "`ShopApi` (shop/api.py:12-50) maps `(method, path)` pairs to bound methods in its "
                "`routes` table (shop/api.py:19-23). Handlers take the request body as a dict and "
                "return a dict, which keeps the shop independent of any web framework."
            ),
            "Request Processing": (
                "`handle()` (shop/api.py:25-32) answers 404 for an unknown route, calls the handler, "
                "and converts `CartError`, `CheckoutError` and `UnknownProduct` into a 400 with "
                "the message; any other exception is a bug and propagates."
            ),
        },
    ),
]

DOCS = {
    "title": "docs",
    "description": "Documentation for demo/shop",
    "content": {},
    "metadata": {"type": "root", "path": "docs", "source": "codewiki"},
    "subpages": PAGES,
}

RUBRICS = {
    "rubrics": [
        {
            "requirements": "Layered architecture of the shop",
            "weight": 3,
            "sub_tasks": [
                {"requirements": "ShopApi is a thin adapter over the domain", "weight": 2},
                {
                    "requirements": "OrderService owns inventory, payment and storage effects",
                    "weight": 3,
                },
            ],
        },
        {
            "requirements": "Checkout correctness",
            "weight": 3,
            "sub_tasks": [
                {"requirements": "Reserve, charge, save, commit order", "weight": 3},
                {"requirements": "Compensation: release stock and refund on failure", "weight": 3},
                {"requirements": "All-or-nothing stock reservation", "weight": 2},
            ],
        },
        {
            "requirements": "Pricing rules",
            "weight": 2,
            "sub_tasks": [
                {"requirements": "Amounts in integer cents", "weight": 1},
                {"requirements": "Discount codes HALF and TENOFF", "weight": 2},
                {"requirements": "8% tax rounded half up", "weight": 1},
            ],
        },
        {
            "requirements": "API error mapping",
            "weight": 1,
            "sub_tasks": [{"requirements": "Domain errors become HTTP 400", "weight": 1}],
        },
    ]
}


def docs_tree_of(docs: dict) -> dict:
    """The outline-only form: the same headings, every text replaced by <detail_content>."""

    def strip(value):
        return (
            {k: strip(v) for k, v in value.items()}
            if isinstance(value, dict)
            else "<detail_content>"
        )

    def one(p: dict, path: list) -> dict:
        out = {"title": p["title"], "path": json.dumps(path), "content": strip(p["content"])}
        if p.get("subpages"):
            out["subpages"] = [one(s, [*path, "subpages", i]) for i, s in enumerate(p["subpages"])]
        return out

    return {
        "title": docs["title"],
        "description": docs["description"],
        "subpages": [one(p, ["subpages", i]) for i, p in enumerate(docs["subpages"])],
    }


def rows() -> list[dict]:
    return [
        {
            "repo_name": REPO_NAME,
            "commit_id": "",  # a frozen folder, not a git checkout
            "docs_tree": json.dumps(docs_tree_of(DOCS)),
            "structured_docs": json.dumps(DOCS),
            "rubrics": json.dumps(RUBRICS),
        }
    ]


def main() -> None:
    import datasets

    target = HERE / "codewikibench" / "shop.jsonl"
    datasets.Dataset.from_list(rows()).to_json(str(target), lines=True, force_ascii=False)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
