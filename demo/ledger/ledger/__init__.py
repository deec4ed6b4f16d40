"""Double-entry bookkeeping: accounts, a journal of balanced transactions, reports."""
