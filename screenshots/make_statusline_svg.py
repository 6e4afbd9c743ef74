"""screenshots/statusline.svg: Claude Code's status bar showing `promptcache-tui statusline`.

    python screenshots/make_statusline_svg.py              # render the saved recording
    python screenshots/make_statusline_svg.py --capture \\
        --claude node_modules/.bin/claude --base-url http://127.0.0.1:8787

The picture is a real Claude Code session against the simulator, recorded with
`tmux capture-pane -e` (text and colours) into screenshots/statusline.ans, and rendered
with Rich. `--capture` records it again: a scratch HOME whose Claude Code settings get our
statusLine through `promptcache-tui statusline --install`, Claude Code started in a
120x36 tmux pane with a dummy key against `--base-url` (a `promptcache-tui sim` that
answers Claude Code), two prompts, then the pane once the status line shows the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORDING = HERE / "statusline.ans"
PICTURE = HERE / "statusline.svg"
WIDTH, HEIGHT = 120, 36
KEY = "dummy-key-for-the-simulator"  # never a real key: it is seen by the recording
TMUX = ["tmux", "-L", "pct-statusline-shot"]
PROMPTS = ("Say hello to the status line", "What does the status line show now?")


def render() -> None:
    """The recording as an SVG (its trailing blank lines dropped)."""
    from rich.console import Console
    from rich.text import Text

    lines = RECORDING.read_text(encoding="utf-8").rstrip("\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    # From the first prompt on: above it, the welcome box has scrolled half out of view.
    first = next((i for i, line in enumerate(lines) if "\u276f " in _plain(line)), 0)
    lines = lines[first:]
    text = "\n".join(lines)
    if "sk-ant" in text:
        raise SystemExit("refusing to render: the recording shows an API key")
    with open(os.devnull, "w") as sink:
        console = Console(record=True, width=WIDTH, file=sink, color_system="256")
        console.print(Text.from_ansi(text), crop=False, soft_wrap=True)
    PICTURE.write_text(
        console.export_svg(title="Claude Code · promptcache-tui statusline"), encoding="utf-8"
    )
    print(f"wrote {PICTURE.relative_to(HERE.parent)}")


def _plain(line: str) -> str:
    from rich.text import Text

    return Text.from_ansi(line).plain


def capture(claude: str, base_url: str) -> None:
    """Record a real Claude Code session's pane into RECORDING."""
    program = shutil.which("promptcache-tui", path=str(Path(sys.executable).parent))
    if program is None or shutil.which("tmux") is None:
        raise SystemExit("needs promptcache-tui (in this Python's environment) and tmux")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        project = home / "app"
        project.mkdir(parents=True)
        env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", ""),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_API_KEY": KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "PROMPTCACHE_TUI_HOME": str(Path(tmp) / "data"),
        }
        # Onboarding done, this key approved and the project trusted: no dialogs (the
        # status line only runs in trusted workspaces).
        (home / ".claude.json").write_text(
            json.dumps(
                {
                    "hasCompletedOnboarding": True,
                    "customApiKeyResponses": {"approved": [KEY[-20:]], "rejected": []},
                    "projects": {str(project): {"hasTrustDialogAccepted": True}},
                }
            )
        )
        subprocess.run([program, "statusline", "--install"], env=env, check=True)
        conf = Path(tmp) / "tmux.conf"
        conf.write_text("set -g focus-events on\n")  # else Claude Code prints a hint about it
        subprocess.run(
            [*TMUX, "-f", str(conf), "new-session", "-d", "-s", "cc", "-x", str(WIDTH),
             "-y", str(HEIGHT), "-c", str(project),
             "env", *(f"{k}={v}" for k, v in env.items()), claude],
            check=True,
        )  # fmt: skip
        try:
            wait_for("cache cold")
            for prompt in PROMPTS:
                subprocess.run([*TMUX, "send-keys", "-t", "cc", prompt, "Enter"], check=True)
                wait_for(" left (")
                time.sleep(6)  # a refreshInterval tick: the hit rate of the logged calls
            RECORDING.write_text(pane(colour=True), encoding="utf-8")
            print(f"wrote {RECORDING.relative_to(HERE.parent)}")
            print(pane(colour=False))
        finally:
            subprocess.run([*TMUX, "kill-server"], capture_output=True)


def pane(*, colour: bool) -> str:
    flags = ["-e"] if colour else []
    return subprocess.run(
        [*TMUX, "capture-pane", "-p", *flags, "-t", "cc"], capture_output=True, text=True
    ).stdout


def wait_for(text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in pane(colour=False):
        if time.monotonic() > deadline:
            raise SystemExit(f"{text!r} never appeared:\n{pane(colour=False)}")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture", action="store_true", help="record a live session first")
    parser.add_argument("--claude", default="claude", help="the Claude Code executable")
    parser.add_argument("--base-url", default="http://127.0.0.1:8787", help="the simulator")
    args = parser.parse_args()
    if args.capture:
        capture(args.claude, args.base_url)
    render()


if __name__ == "__main__":
    main()
