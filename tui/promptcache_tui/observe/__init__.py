"""Observe mode: the user's own traffic (a recording proxy, Claude Code transcripts).

No Textual and no Rich here: the proxy and the importer run headless, and the dashboard reads
what they log through the store.
"""
