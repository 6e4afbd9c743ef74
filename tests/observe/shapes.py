"""Requests shaped like the ones Claude Code sends (as captured from claude-cli 2.1.197).

About 115 KB: 24 tool definitions, three system blocks (the billing header first), and a
conversation whose last user block carries the moving breakpoint.
"""

from __future__ import annotations

import json
from typing import Any

PARAGRAPH = (
    "Use this tool when the task needs it. Read the relevant files first, keep changes small, "
    "and report what you changed. Never guess a path: list the directory instead. "
)
TOOL_NAMES = (
    "Agent",
    "Bash",
    "CronCreate",
    "CronDelete",
    "CronList",
    "Edit",
    "EnterWorktree",
    "ExitWorktree",
    "NotebookEdit",
    "Read",
    "ReportFindings",
    "ScheduleWakeup",
    "SendMessage",
    "Skill",
    "TaskCreate",
    "TaskGet",
    "TaskList",
    "TaskOutput",
    "TaskStop",
    "TaskUpdate",
    "WebFetch",
    "WebSearch",
    "Workflow",
    "Write",
)
MAIN_PROMPT = (
    "\nYou are an interactive agent that helps users with software engineering tasks. "
    + "Follow the instructions below carefully and use the tools available to you. " * 70
)


def billing_header(suffix: str = "7b2") -> str:
    """Claude Code's first system block; the suffix changes with each session."""
    return f"x-anthropic-billing-header: cc_version=2.1.197.{suffix}; cc_entrypoint=cli; cch=00000;"


def tools(count: int = 24) -> list[dict[str, Any]]:
    """Tool definitions of about 3.5 KB each, like Claude Code's."""
    return [
        {
            "name": TOOL_NAMES[i % len(TOOL_NAMES)] + ("" if i < len(TOOL_NAMES) else str(i)),
            "description": f"Tool {i}. " + PARAGRAPH * 25,
            "input_schema": {
                "type": "object",
                "properties": {"arg": {"type": "string", "description": "The argument."}},
                "required": ["arg"],
            },
        }
        for i in range(count)
    ]


def claude_code_request(
    *,
    suffix: str = "7b2",
    turns: int = 3,
    model: str = "claude-opus-4-8",
    system_extra: str = "",
    tool_count: int = 24,
    stream: bool = True,
    ttl: str | None = None,
) -> dict[str, Any]:
    """A Claude-Code-shaped request after `turns` user turns (the last one just typed)."""
    control: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        control["ttl"] = ttl
    messages: list[dict[str, Any]] = []
    for turn in range(turns):
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Question {turn}: what does module {turn} do?"}
                ],
            }
        )
        if turn < turns - 1:
            messages.append(
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": f"Module {turn} parses input. " * 40}],
                }
            )
    messages[-1]["content"][-1]["cache_control"] = dict(control)
    return {
        "model": model,
        "max_tokens": 32000,
        "stream": stream,
        "system": [
            {"type": "text", "text": billing_header(suffix)},
            {
                "type": "text",
                "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
                "cache_control": dict(control),
            },
            {"type": "text", "text": MAIN_PROMPT + system_extra, "cache_control": dict(control)},
        ],
        "tools": tools(tool_count),
        "messages": messages,
        "metadata": {"user_id": "user_test"},
    }


def size(params: dict[str, Any]) -> int:
    """Bytes of the request body as a client sends it."""
    return len(json.dumps(params).encode())
