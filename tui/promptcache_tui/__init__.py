"""promptcache-tui: a keyboard-driven terminal dashboard for Anthropic prompt caching."""

__version__ = "0.1.0"
