"""Errors the CLI turns into one-line messages and exit codes (2 bad input, 1 run-time failure)."""

from __future__ import annotations


class WikikitError(Exception):
    """A failure at run time: printed as one line, exit code 1."""

    exit_code = 1


class InputError(WikikitError):
    """Bad input (recipe, file, argument): printed as one line per problem, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, lines: list[str] | None = None):
        super().__init__(message)
        self.lines = lines or [message]


class StageNotImplemented(WikikitError):
    """A stage the recipe asks for has no implementation yet: the run fails, never pretends."""
