"""Errors a user can fix: shown as one line, exit code 2, no traceback."""


class UserError(Exception):
    """A problem with the user's input (suite file, key, value, path) and how to fix it."""


class MissingInput(UserError):
    """Model weights or data named by the suite are not on this machine (and cannot be fetched here)."""
