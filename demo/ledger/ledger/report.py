"""Reports over a journal: the trial balance and the income statement."""

from __future__ import annotations

from ledger.accounts import DEBIT_NORMAL
from ledger.journal import Journal


def trial_balance(journal: Journal) -> list[tuple[str, int, int]]:
    """(account code, debit total, credit total) per account; the two columns sum equal."""
    rows = []
    for account in journal.chart:
        balance = journal.balance(account.code)
        raw = balance if account.kind in DEBIT_NORMAL else -balance
        rows.append((account.code, max(raw, 0), max(-raw, 0)))
    return rows


def income_statement(journal: Journal) -> dict[str, int]:
    """Income, expenses and their difference over the whole journal."""
    income = sum(journal.balance(a.code) for a in journal.chart if a.kind == "income")
    expenses = sum(journal.balance(a.code) for a in journal.chart if a.kind == "expense")
    return {"income": income, "expenses": expenses, "net": income - expenses}
