"""Mutation testing of the caching rules: mutmut on the rule modules, with their tests only.

    pip install -e ".[test,mutation]"
    python benchmarks/mutation.py                 # run (resumes where it stopped), then report
    python benchmarks/mutation.py --report        # the score and the survivors of the last run
    python benchmarks/mutation.py --show NAME     # one survivor's diff
    python benchmarks/mutation.py --fresh         # forget the last run's results
    python benchmarks/mutation.py --named         # the hand-made mutations of issue 18
    python benchmarks/mutation.py --survivors     # re-run the survivors against new tests

mutmut 3 finds the code under `src/` (or the project's root) and imports the mutated copy
from `mutants/src`; this project keeps its package under `tui/`. So the script lays out a
work dir (`.mutation/` at the root, ignored by git) with `src` a copy of `tui`, the tests, and
a pyproject holding the project's pytest settings plus `[tool.mutmut]`, and runs mutmut there.
Only tests that run the rules in this process are selected (a test that starts
`promptcache-tui` in a subprocess would import the unmutated package and kill nothing).

Not part of CI's test run: it takes tens of minutes on two cores. A quiet machine is not needed
(the score does not depend on speed), only patience.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"

# The rule modules (issue 18): costs, the TTL ledger and prediction, the advisor, the
# request builder, and the simulator's engine and its own rendering of positions.
MODULES = [
    "src/promptcache_tui/core/cost.py",
    "src/promptcache_tui/core/ttl.py",
    "src/promptcache_tui/core/advisor.py",
    "src/promptcache_tui/core/request.py",
    "src/promptcache_tui/sim/engine.py",
    "src/promptcache_tui/sim/positions.py",
]
# The tests that exercise those rules in-process (the SDK against the in-process simulator
# included: it serves from a thread of the same process).
TESTS = [
    "tests/core/test_cost.py",
    "tests/core/test_ttl.py",
    "tests/core/test_advisor.py",
    "tests/core/test_request.py",
    "tests/core/test_client_rules.py",
    "tests/core/test_block_tokens.py",
    "tests/core/test_rule_limits.py",
    "tests/core/test_rule_edges.py",
    "tests/sim/test_engine.py",
    "tests/sim/test_engine_rules.py",
    "tests/sim/test_engine_limits.py",
    "tests/sim/test_two_models.py",
    "tests/sim/test_caching.py",
    "tests/calls/test_pricing_modes.py",
]


# Hand-made off-by-one mutations at the rules' limits, each with the part of the suite that
# must catch it (issue 18): (name, file under tui/promptcache_tui, text, mutated text, tests).
_LEDGER_TESTS = ["tests/core", "tests/calls", "tests/cli", "tests/sim/test_two_models.py"]
_SIM_TESTS = ["tests/sim"]
NAMED: list[tuple[str, str, str, str, list[str]]] = [
    (
        "ledger: minimum >= becomes >",
        "core/ttl.py",
        "block.index > read_at and (min_tokens is None or block.prefix_tokens >= min_tokens)",
        "block.index > read_at and (min_tokens is None or block.prefix_tokens > min_tokens)",
        _LEDGER_TESTS,
    ),
    (
        "ledger settle: minimum >= becomes >",
        "core/ttl.py",
        "return tuple(min_tokens is None or p.prefix_tokens >= min_tokens for p in points)",
        "return tuple(min_tokens is None or p.prefix_tokens > min_tokens for p in points)",
        _LEDGER_TESTS,
    ),
    (
        "proxy's ledger (breakpoint_cached): minimum >= becomes >",
        "core/ttl.py",
        "return min_tokens is None or prefix_tokens >= min_tokens",
        "return min_tokens is None or prefix_tokens > min_tokens",
        ["tests/core", "tests/observe"],
    ),
    (
        "advisor: below_minimum < becomes <=",
        "core/advisor.py",
        "elif minimum is not None and tokens < minimum:",
        "elif minimum is not None and tokens <= minimum:",
        ["tests/core", "tests/cli"],
    ),
    (
        "simulator: minimum >= becomes >",
        "sim/engine.py",
        "if block.index <= read_at or block.prefix_tokens < minimum:",
        "if block.index <= read_at or block.prefix_tokens <= minimum:",
        _SIM_TESTS,
    ),
    (
        "editor's lookback warning: 20 becomes 21",
        "core/advisor.py",
        "if previous_index >= 0 and gap >= LOOKBACK_POSITIONS:",
        "if previous_index >= 0 and gap >= LOOKBACK_POSITIONS + 1:",
        ["tests/core", "tests/cli", "tests/ui/test_context_editor.py"],
    ),
    (
        "ledger: lookback 20 becomes 21",
        "core/ttl.py",
        "LOOKBACK_POSITIONS = 20",
        "LOOKBACK_POSITIONS = 21",
        _LEDGER_TESTS,
    ),
    (
        "simulator: lookback 20 becomes 21",
        "sim/engine.py",
        "LOOKBACK_POSITIONS = 20",
        "LOOKBACK_POSITIONS = 21",
        _SIM_TESTS,
    ),
    (
        "simulator: 4 breakpoints become 5",
        "sim/engine.py",
        "MAX_BREAKPOINTS = 4",
        "MAX_BREAKPOINTS = 5",
        _SIM_TESTS,
    ),
    (
        "client: 4 breakpoints become 5",
        "core/context.py",
        "MAX_BREAKPOINTS = 4",
        "MAX_BREAKPOINTS = 5",
        ["tests/core", "tests/cli"],
    ),
    (
        "ledger: expired at <= becomes <",
        "core/ttl.py",
        "if until <= now:",
        "if until < now:",
        ["tests/core"],
    ),
    (
        "simulator (SQLite): live while expires_at > now becomes >=",
        "sim/state.py",
        "WHERE model = ? AND expires_at > ? AND key IN",
        "WHERE model = ? AND expires_at >= ? AND key IN",
        _SIM_TESTS,
    ),
    (
        "simulator: window > becomes >=",
        "sim/engine.py",
        "if window is not None and rendering.total_tokens > window:",
        "if window is not None and rendering.total_tokens >= window:",
        _SIM_TESTS,
    ),
    (
        "advisor: window > becomes >=",
        "core/advisor.py",
        "if tokens > window:",
        "if tokens >= window:",
        ["tests/core", "tests/cli"],
    ),
    (
        "simulator: body limit > becomes >=",
        "sim/server.py",
        "if size > MAX_BODY_BYTES:",
        "if size >= MAX_BODY_BYTES:",
        _SIM_TESTS,
    ),
    (
        "simulator: declared body limit > becomes >=",
        "sim/server.py",
        "if declared.isdigit() and int(declared) > MAX_BODY_BYTES:",
        "if declared.isdigit() and int(declared) >= MAX_BODY_BYTES:",
        _SIM_TESTS,
    ),
    (
        "proxy: declared body limit > becomes >=",
        "observe/proxy.py",
        "and (int(declared) > self.max_body_bytes)",
        "and (int(declared) >= self.max_body_bytes)",
        ["tests/observe/test_proxy_wire.py", "tests/observe"],
    ),
    (
        "prices_for: the input price becomes the output price",
        "core/cost.py",
        "base = info.input if info else None",
        "base = info.output if info else None",
        ["tests/core", "tests/calls", "tests/cli"],
    ),
    (
        "prices_for: the model's own read price is ignored",
        "core/cost.py",
        "read=mult.cache_read,",
        "read=0.1,",
        ["tests/core", "tests/calls", "tests/cli"],
    ),
    (
        "prices_for: 1h writes at the 5m rate",
        "core/cost.py",
        "write_1h=mult.cache_write_1h,",
        "write_1h=mult.cache_write_5m,",
        ["tests/core", "tests/calls", "tests/cli"],
    ),
    (
        "prices_for: US inference not charged",
        "core/cost.py",
        'if info is not None and inference_geo == "us" and info.inference_geo_us is not None:',
        "if False:",
        ["tests/core", "tests/calls", "tests/cli"],
    ),
]


def named() -> int:
    """Apply each hand-made mutation to a copy of the package and run the tests that must
    catch it; 0 when every one was caught."""
    import tempfile

    escaped = []
    for name, rel, old, new, tests in NAMED:
        with tempfile.TemporaryDirectory(prefix="pct-mutant-") as tmp:
            copy = Path(tmp) / "tui"
            shutil.copytree(ROOT / "tui", copy, ignore=shutil.ignore_patterns("__pycache__"))
            target = copy / "promptcache_tui" / rel
            text = target.read_text()
            assert text.count(old) == 1, f"{name}: the text to mutate is not in {rel} once"
            target.write_text(text.replace(old, new))
            # PYTHONPATH comes before the editable install's path: tests, and the processes
            # they start, import the mutated copy.
            env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
        if done.returncode == 0:
            escaped.append(name)
            print(f"SURVIVED  {name}  ({' '.join(tests)})")
        else:
            print(f"caught    {name}  by {failed[0][7:] if failed else done.stdout[-200:]}")
    print(f"{len(NAMED) - len(escaped)} of {len(NAMED)} caught")
    return 1 if escaped else 0


def _layout() -> None:
    """The work dir: src/ (a copy of tui/), tests/, and a pyproject for mutmut."""
    WORK.mkdir(exist_ok=True)
    for name, source in (("src", ROOT / "tui"), ("tests", ROOT / "tests")):
        target = WORK / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pytest_options = dict(project["tool"]["pytest"]["ini_options"])
    pytest_options["addopts"] = "-p no:cacheprovider -q"
    pytest_options["timeout"] = 120
    selected = [t for t in TESTS if (ROOT / t).exists()]
    lines = ["[tool.pytest.ini_options]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in pytest_options.items()]
    lines += [
        "",
        "[tool.mutmut]",
        'source_paths = ["src"]',
        f"only_mutate = {json.dumps(MODULES)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(selected)}",
        "",
    ]
    (WORK / "pyproject.toml").write_text("\n".join(lines))


def _mutmut(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    # The project is installed editable from tui/: mutmut puts mutants/src first on sys.path.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=WORK,
        env=env,
        check=False,
        text=True,
        capture_output=capture,
    )


def _results() -> dict[str, str]:
    """Every mutant's status from the last run (`mutmut results --all true`)."""
    done = _mutmut("results", "--all", "true", capture=True)
    out: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            out[name] = status.strip()
    return out


def report() -> int:
    """Print the score and list the survivors; 0 when at least 90% were killed."""
    results = _results()
    if not results:
        print("no results yet: run without --report first")
        return 1
    counts: dict[str, int] = {}
    for status in results.values():
        counts[status] = counts.get(status, 0) + 1
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    # Mutants no selected test reaches say nothing about the tests' strength at the rules:
    # they are listed, and counted as survivors.
    total = sum(n for status, n in counts.items() if status not in ("not checked", "skipped"))
    print("mutants by status:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    score = killed / total if total else 0.0
    print(f"score: {killed}/{total} killed = {score:.1%}")
    for name, status in sorted(results.items()):
        if status not in ("killed", "timeout"):
            print(f"  {status}: {name}")
    return 0 if score >= 0.9 else 1


def survivors(max_children: int) -> int:
    """Run again only the mutants the last run did not kill, against the current tests.

    The work dir's copy of the package is kept (mutmut then keeps every other verdict), and
    its tests are refreshed: mutmut finds the new tests and maps them to what they run.
    """
    left = [name for name, status in _results().items() if status not in ("killed", "timeout")]
    if not left:
        return report()
    target = WORK / "tests"
    shutil.rmtree(target)
    shutil.copytree(ROOT / "tests", target, ignore=shutil.ignore_patterns("__pycache__"))
    _mutmut("run", "--max-children", str(max_children), *left)
    return report()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="only print the last results")
    parser.add_argument("--show", metavar="NAME", help="print one mutant's diff")
    parser.add_argument("--fresh", action="store_true", help="start over")
    parser.add_argument("--named", action="store_true", help="the hand-made mutations only")
    parser.add_argument(
        "--survivors", action="store_true", help="re-run the last run's survivors, tests refreshed"
    )
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args()
    if args.show:
        return _mutmut("show", args.show).returncode
    if args.report:
        return report()
    if args.named:
        return named()
    if args.survivors:
        return survivors(args.max_children)
    if args.fresh and WORK.exists():
        shutil.rmtree(WORK)
    _layout()
    _mutmut("run", "--max-children", str(args.max_children))
    return report()


if __name__ == "__main__":
    raise SystemExit(main())
