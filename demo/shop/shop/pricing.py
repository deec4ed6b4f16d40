"""Prices, discount codes and tax. All amounts are integer cents."""

from __future__ import annotations

from shop.catalog import Catalog

TAX_RATE_PERCENT = 8
DISCOUNT_CODES = {"HALF": ("percent", 50), "TENOFF": ("fixed", 1000)}


class InvalidDiscount(ValueError):
    """Raised for a discount code the shop does not know."""


def line_total(catalog: Catalog, sku: str, qty: int) -> int:
    """The list price of `qty` units of `sku`."""
    return catalog.get(sku).price_cents * qty


def apply_discount(subtotal: int, code: str | None) -> int:
    """The subtotal after a discount code; never below zero."""
    if not code:
        return subtotal
    if code not in DISCOUNT_CODES:
        raise InvalidDiscount(code)
    kind, amount = DISCOUNT_CODES[code]
    if kind == "percent":
        return subtotal * (100 - amount) // 100
    return max(0, subtotal - amount)


def tax(amount: int) -> int:
    """Sales tax on an amount, rounded half up to the cent."""
    return (amount * TAX_RATE_PERCENT + 50) // 100


def quote(catalog: Catalog, items: dict[str, int], code: str | None = None) -> dict[str, int]:
    """Subtotal, discount, tax and total for a set of items."""
    subtotal = sum(line_total(catalog, sku, qty) for sku, qty in items.items())
    discounted = apply_discount(subtotal, code)
    return {
        "subtotal": subtotal,
        "discount": subtotal - discounted,
        "tax": tax(discounted),
        "total": discounted + tax(discounted),
    }
