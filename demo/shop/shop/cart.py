"""Shopping cart: items, quantities and a price quote."""

from __future__ import annotations

from shop.catalog import Catalog
from shop.pricing import quote

MAX_QTY = 99


class CartError(Exception):
    """Raised when an item cannot be added or changed."""


class Cart:
    """A customer's cart: SKU -> quantity, plus an optional discount code."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.items: dict[str, int] = {}
        self.discount_code: str | None = None

    def add(self, sku: str, qty: int = 1) -> None:
        if qty <= 0:
            raise CartError("quantity must be positive")
        self.catalog.get(sku)  # unknown SKUs fail here, not at checkout
        new_qty = self.items.get(sku, 0) + qty
        if new_qty > MAX_QTY:
            raise CartError(f"at most {MAX_QTY} of {sku}")
        self.items[sku] = new_qty

    def remove(self, sku: str) -> None:
        self.items.pop(sku, None)

    def set_discount(self, code: str | None) -> None:
        self.discount_code = code

    def quote(self) -> dict[str, int]:
        return quote(self.catalog, self.items, self.discount_code)

    def is_empty(self) -> bool:
        return not self.items
