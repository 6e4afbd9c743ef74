"""`python -m promptcache_tui`."""

from promptcache_tui.cli.main import main

main()
