"""The base of every error that is the user's to fix: shown as one line, never a traceback."""


class UserError(Exception):
    """An error whose message is one clear line for the user."""


class Interrupted(UserError):
    """A command or the TUI was stopped by a signal; `code` is the exit code it ends with
    (128 + the signal's number: 130, 143, 129)."""

    def __init__(self, signum: int, detail: str = "") -> None:
        import signal  # (every command imports this module; few are ever interrupted)

        self.signum = signum
        self.code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}" + (f": {detail}" if detail else ""))
