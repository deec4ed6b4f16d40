"""The product catalog: what the shop sells and at what list price."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Product:
    """One thing the shop sells. Prices are in cents to avoid float rounding."""

    sku: str
    name: str
    price_cents: int
    tags: tuple[str, ...] = field(default_factory=tuple)


class UnknownProduct(KeyError):
    """Raised when a SKU is not in the catalog."""


class Catalog:
    """All products by SKU, with a simple tag and name search."""

    def __init__(self, products: list[Product] | None = None):
        self._by_sku: dict[str, Product] = {}
        for product in products or []:
            self.add(product)

    def add(self, product: Product) -> None:
        if product.price_cents < 0:
            raise ValueError(f"{product.sku}: negative price")
        self._by_sku[product.sku] = product

    def get(self, sku: str) -> Product:
        try:
            return self._by_sku[sku]
        except KeyError:
            raise UnknownProduct(sku) from None

    def search(self, text: str = "", tag: str | None = None) -> list[Product]:
        text = text.lower()
        return [
            p
            for p in self._by_sku.values()
            if text in p.name.lower() and (tag is None or tag in p.tags)
        ]


def default_catalog() -> Catalog:
    return Catalog(
        [
            Product("apple", "Apple", 50, ("fruit",)),
            Product("pear", "Pear", 75, ("fruit",)),
            Product("melon", "Melon", 200, ("fruit", "large")),
            Product("basket", "Wicker basket", 1200, ("home",)),
        ]
    )
