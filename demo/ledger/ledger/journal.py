"""The journal: transactions of postings that must balance to zero before they are recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ledger.accounts import Chart


class Unbalanced(ValueError):
    """Raised when a transaction's debits and credits do not cancel out."""


@dataclass(frozen=True)
class Posting:
    account: str
    amount: int  # cents; positive is a debit, negative a credit


@dataclass
class Transaction:
    day: date
    memo: str
    postings: list[Posting] = field(default_factory=list)

    def total(self) -> int:
        return sum(p.amount for p in self.postings)


class Journal:
    def __init__(self, chart: Chart):
        self.chart = chart
        self.entries: list[Transaction] = []

    def record(self, tx: Transaction) -> None:
        """Check every account exists and the postings balance, then append."""
        for p in tx.postings:
            self.chart.get(p.account)
        if tx.total() != 0:
            raise Unbalanced(f"{tx.memo}: off by {tx.total()} cents")
        self.entries.append(tx)

    def balance(self, code: str, until: date | None = None) -> int:
        """An account's balance in its own sign, from every posting up to `until`."""
        account = self.chart.get(code)
        return sum(
            account.signed(p.amount)
            for tx in self.entries
            if until is None or tx.day <= until
            for p in tx.postings
            if p.account == code
        )
