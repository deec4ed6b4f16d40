"""Stock levels and reservations, so two orders never sell the same unit."""

from __future__ import annotations

import threading


class OutOfStock(Exception):
    """Raised when a reservation asks for more units than are free."""

    def __init__(self, sku: str, wanted: int, free: int):
        super().__init__(f"{sku}: wanted {wanted}, {free} free")
        self.sku, self.wanted, self.free = sku, wanted, free


class Inventory:
    """On-hand stock per SKU minus what open reservations hold."""

    def __init__(self, stock: dict[str, int] | None = None):
        self._stock = dict(stock or {})
        self._reserved: dict[str, int] = {}
        self._lock = threading.Lock()

    def free(self, sku: str) -> int:
        return self._stock.get(sku, 0) - self._reserved.get(sku, 0)

    def reserve(self, items: dict[str, int]) -> None:
        """Reserve all items or none: checked under one lock, then applied."""
        with self._lock:
            for sku, qty in items.items():
                if self.free(sku) < qty:
                    raise OutOfStock(sku, qty, self.free(sku))
            for sku, qty in items.items():
                self._reserved[sku] = self._reserved.get(sku, 0) + qty

    def release(self, items: dict[str, int]) -> None:
        with self._lock:
            for sku, qty in items.items():
                self._reserved[sku] = max(0, self._reserved.get(sku, 0) - qty)

    def commit(self, items: dict[str, int]) -> None:
        """Turn a reservation into a sale: the units leave the stock."""
        with self._lock:
            for sku, qty in items.items():
                self._reserved[sku] -= qty
                self._stock[sku] -= qty
