"""Accounts and their kinds. Amounts are integer cents; debits are positive."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("asset", "liability", "equity", "income", "expense")
# Accounts whose balance grows with debits; the others grow with credits.
DEBIT_NORMAL = frozenset({"asset", "expense"})


class UnknownAccount(KeyError):
    """Raised when a posting names an account the chart does not hold."""


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.code}: unknown kind {self.kind!r}")

    def signed(self, amount: int) -> int:
        """The amount as it moves this account's balance (credits grow liabilities)."""
        return amount if self.kind in DEBIT_NORMAL else -amount


class Chart:
    """The chart of accounts, looked up by code."""

    def __init__(self, accounts: list[Account]):
        self._by_code = {a.code: a for a in accounts}

    def get(self, code: str) -> Account:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownAccount(code) from None

    def __iter__(self):
        return iter(sorted(self._by_code.values(), key=lambda a: a.code))
