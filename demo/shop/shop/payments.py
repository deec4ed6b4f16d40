"""Payment gateways: the interface orders use, and an in-memory one for tests and demos."""

from __future__ import annotations

import uuid
from typing import Protocol


class PaymentError(Exception):
    """Raised when a charge is declined."""


class PaymentGateway(Protocol):
    def charge(self, customer: str, amount_cents: int) -> str:
        """Charge the customer; return a payment id."""

    def refund(self, payment_id: str) -> None:
        """Give a charge back."""


class FakeGateway:
    """Accepts every charge up to a limit; remembers charges and refunds."""

    def __init__(self, limit_cents: int = 100_000):
        self.limit_cents = limit_cents
        self.charges: dict[str, tuple[str, int]] = {}
        self.refunded: set[str] = set()

    def charge(self, customer: str, amount_cents: int) -> str:
        if amount_cents > self.limit_cents:
            raise PaymentError(f"declined: {amount_cents} over limit")
        payment_id = uuid.uuid4().hex
        self.charges[payment_id] = (customer, amount_cents)
        return payment_id

    def refund(self, payment_id: str) -> None:
        if payment_id not in self.charges:
            raise PaymentError(f"unknown payment {payment_id}")
        self.refunded.add(payment_id)
