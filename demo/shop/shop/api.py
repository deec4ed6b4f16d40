"""A minimal JSON API over the shop: route table and request handlers."""

from __future__ import annotations

from typing import Any

from shop.cart import Cart, CartError
from shop.catalog import Catalog, UnknownProduct
from shop.orders import CheckoutError, OrderService


class ShopApi:
    """Handlers take and return plain dicts; a web framework adapter maps them to HTTP."""

    def __init__(self, catalog: Catalog, orders: OrderService):
        self.catalog = catalog
        self.orders = orders
        self.carts: dict[str, Cart] = {}
        self.routes = {
            ("GET", "/products"): self.list_products,
            ("POST", "/cart/items"): self.add_to_cart,
            ("POST", "/checkout"): self.checkout,
        }

    def handle(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict]:
        handler = self.routes.get((method, path))
        if handler is None:
            return 404, {"error": "not found"}
        try:
            return 200, handler(body)
        except (CartError, CheckoutError, UnknownProduct) as exc:
            return 400, {"error": str(exc)}

    def list_products(self, body: dict[str, Any]) -> dict:
        found = self.catalog.search(body.get("q", ""), body.get("tag"))
        return {"products": [{"sku": p.sku, "name": p.name, "price": p.price_cents} for p in found]}

    def add_to_cart(self, body: dict[str, Any]) -> dict:
        cart = self.carts.setdefault(body["customer"], Cart(self.catalog))
        cart.add(body["sku"], int(body.get("qty", 1)))
        return {"items": cart.items, "quote": cart.quote()}

    def checkout(self, body: dict[str, Any]) -> dict:
        cart = self.carts.get(body["customer"])
        if cart is None:
            raise CheckoutError("no cart")
        cart.set_discount(body.get("discount"))
        order = self.orders.place_order(body["customer"], cart)
        del self.carts[body["customer"]]
        return {"order": order["id"], "total": order["quote"]["total"]}
