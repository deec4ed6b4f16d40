"""A tiny online shop: catalog, cart, pricing, inventory, payments and orders."""

__version__ = "1.0.0"
