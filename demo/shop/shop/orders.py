"""Checkout: turn a cart into a paid, stored order, or leave nothing behind."""

from __future__ import annotations

import time
import uuid

from shop.cart import Cart, CartError
from shop.inventory import Inventory
from shop.payments import PaymentError, PaymentGateway
from shop.storage import OrderStore


class CheckoutError(Exception):
    """Raised when an order cannot be placed; nothing was charged or reserved."""


class OrderService:
    def __init__(self, inventory: Inventory, gateway: PaymentGateway, store: OrderStore):
        self.inventory = inventory
        self.gateway = gateway
        self.store = store

    def place_order(self, customer: str, cart: Cart) -> dict:
        """Reserve stock, charge, store, then commit the stock; undo each step on failure."""
        if cart.is_empty():
            raise CheckoutError("empty cart")
        try:
            quote = cart.quote()
        except (CartError, ValueError) as exc:
            raise CheckoutError(str(exc)) from exc
        items = dict(cart.items)
        self.inventory.reserve(items)
        try:
            payment_id = self.gateway.charge(customer, quote["total"])
        except PaymentError as exc:
            self.inventory.release(items)
            raise CheckoutError(f"payment failed: {exc}") from exc
        order = {
            "id": uuid.uuid4().hex[:12],
            "customer": customer,
            "items": items,
            "quote": quote,
            "payment_id": payment_id,
            "status": "paid",
            "created": time.time(),
        }
        try:
            self.store.save(order)
        except OSError:
            self.gateway.refund(payment_id)
            self.inventory.release(items)
            raise
        self.inventory.commit(items)
        return order

    def cancel(self, order_id: str) -> dict:
        """Refund a paid order and mark it cancelled. Stock is not restocked automatically."""
        order = self.store.load(order_id)
        if order["status"] != "paid":
            raise CheckoutError(f"order {order_id} is {order['status']}")
        self.gateway.refund(order["payment_id"])
        order["status"] = "cancelled"
        self.store.save(order)
        return order
