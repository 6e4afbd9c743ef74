"""The offline simulator of the Anthropic Messages API (no Textual, no SDK imported here).

Entry points: `sim.inprocess.InProcessSimulator` (in-process, ephemeral loopback port),
`sim.server.create_app` (the ASGI app), `promptcache-tui sim` (`cli/sim_cmd.py`).
See docs/simulator.md.
"""
