"""The base of every error that is the user's to fix: shown as one line, never a traceback."""


class UserError(Exception):
    """An error whose message is one clear line for the user."""
