"""`python -m promptcache_tui`."""

from promptcache_tui.cli.entry import main

main()
