"""Validation of Messages API request bodies, with the API's `field.path: problem` messages.

Two steps, as the API does them: `validate_create` / `validate_prompt` check the body's shape
(fields, types, ranges, roles, blocks, tool pairing, schemas) without knowing the model;
`check_model_rules` then checks what depends on the model (mid-conversation system messages,
thinking). Messages quote the real API's wording where it is public (issue threads, SDK
tests); where it is not, they say plainly what is wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptcache_tui.core.catalog import ModelInfo
from promptcache_tui.sim.errors import ApiError, invalid
from promptcache_tui.sim.schemas import SchemaProblem, check_request_schema

ROLES = ("user", "assistant")
_ROLES_WITH_SYSTEM = (*ROLES, "system")

# Top-level fields of POST /v1/messages: SDK 2.x's params, its beta params, and the sampling
# parameters older clients still send. Anything else is "Extra inputs are not permitted".
CREATE_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "stream",
        "stop_sequences",
        "metadata",
        "temperature",
        "top_p",
        "top_k",
        "cache_control",
        "container",
        "diagnostics",
        "inference_geo",
        "output_config",
        "output_format",
        "service_tier",
        "speed",
        "user_profile_id",
        "workspace_id",
        # beta fields (`client.beta.messages`)
        "context_management",
        "mcp_servers",
        "billing_policy",
        "compaction",
        "fallback_credit_token",
        "fallbacks",
        "thread",
    }
)
COUNT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "output_config",
        "output_format",
        "speed",
        "user_profile_id",
        "workspace_id",
        "context_management",
        "mcp_servers",
    }
)
# Content block types a message may carry (SDK 2.x ContentBlockParam and its beta union).
MESSAGE_BLOCK_TYPES = (
    "text",
    "image",
    "document",
    "search_result",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_result",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "container_upload",
    "mcp_tool_use",
    "mcp_tool_result",
    "advisor_tool_result",
    "compaction",
    "fallback",
    "mcp_tool_listing",
    "tool_addition",
    "tool_removal",
)
# The keys each common block may have (SDK 2.x block params): others are "Extra inputs are
# not permitted".
_BLOCK_KEYS = {
    "text": frozenset({"type", "text", "cache_control", "citations"}),
    "tool_use": frozenset(
        {"type", "id", "name", "input", "cache_control", "caller", "toolset_name"}
    ),
    "tool_result": frozenset(
        {"type", "tool_use_id", "content", "is_error", "cache_control", "toolset_name"}
    ),
    "thinking": frozenset({"type", "thinking", "signature"}),
    "redacted_thinking": frozenset({"type", "data"}),
}
TOOL_RESULT_CONTENT_TYPES = ("text", "image", "document", "search_result", "tool_reference")
TOOL_CHOICE_TYPES = ("any", "auto", "none", "tool")
THINKING_TYPES = ("adaptive", "between_tools", "disabled", "enabled")
THINKING_ON = frozenset({"adaptive", "enabled", "between_tools"})
EFFORTS = ("low", "medium", "high", "xhigh", "max")
MIN_THINKING_BUDGET = 1024
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


# -- helpers ---------------------------------------------------------------------------


def _tags(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _tag_error(where: str, tag: Any, expected: Sequence[str]) -> ApiError:
    # Pydantic's discriminated-union wording, which the API passes through.
    return invalid(
        f"{where}: Input tag '{tag}' found using 'type' does not match any of the "
        f"expected tags: {_tags(expected)}"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _extra_fields(body: Mapping[str, Any], allowed: frozenset[str], where: str = "") -> None:
    for key in body:
        if key not in allowed:
            raise invalid(f"{where}{key}: Extra inputs are not permitted")


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(f"{where}: Input should be a valid dictionary")
    return value


# -- sampling parameters ---------------------------------------------------------------


def _check_sampling(params: Mapping[str, Any]) -> None:
    for key in ("temperature", "top_p"):
        value = params.get(key)
        if value is None:
            continue
        if not _is_number(value):
            raise invalid(f"{key}: Input should be a valid number")
        if not 0 <= value <= 1:  # NaN fails this too, though the JSON parser refuses it first
            raise invalid(f"{key}: range: 0..1")
    top_k = params.get("top_k")
    if top_k is not None:
        if not _is_int(top_k):
            raise invalid("top_k: Input should be a valid integer")
        if top_k < 0:
            raise invalid("top_k: Input should be greater than or equal to 0")


# -- content blocks --------------------------------------------------------------------


def _check_text_blocks(value: Any, where: str) -> None:
    """A system prompt or a system message: a string or a list of text blocks."""
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise invalid(f"{where}: Input should be a valid list")
    for i, block in enumerate(value):
        path = f"{where}.{i}"
        block = _object(block, path)
        if block.get("type") != "text":
            raise _tag_error(path, block.get("type"), ("text",))
        _check_text_block(block, f"{path}.text", section=where.split(".")[0])


def _check_text_block(block: Mapping[str, Any], where: str, section: str) -> None:
    _extra_fields(block, _BLOCK_KEYS["text"], f"{where}.")
    text = block.get("text")
    if not isinstance(text, str):
        raise invalid(f"{where}.text: Field required")
    # An empty block with cache_control gets the caching rule's own message (engine).
    if not text and block.get("cache_control") is None:
        raise invalid(f"{section}: text content blocks must be non-empty")


def _check_message_block(block: Any, where: str, role: str) -> None:
    block = _object(block, where)
    kind = block.get("type")
    if not isinstance(kind, str):
        raise invalid(f"{where}.type: Field required")
    if kind not in MESSAGE_BLOCK_TYPES:
        raise _tag_error(where, kind, MESSAGE_BLOCK_TYPES)
    tagged = f"{where}.{kind}"
    if kind in _BLOCK_KEYS and kind != "text":
        _extra_fields(block, _BLOCK_KEYS[kind], f"{tagged}.")
    if kind == "text":
        _check_text_block(block, tagged, "messages")
    elif kind == "tool_use":
        if role != "assistant":
            raise invalid(f"{where}: tool_use blocks can only be in assistant messages")
        if not isinstance(block.get("id"), str) or not _TOOL_USE_ID.match(block["id"]):
            raise invalid(f"{tagged}.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
        if not isinstance(block.get("name"), str) or not block["name"]:
            raise invalid(f"{tagged}.name: Field required")
        if not isinstance(block.get("input"), Mapping):
            raise invalid(f"{tagged}.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if role != "user":
            raise invalid(f"{where}: tool_result blocks can only be in user messages")
        if not isinstance(block.get("tool_use_id"), str):
            raise invalid(f"{tagged}.tool_use_id: Field required")
        content = block.get("content")
        if isinstance(content, list):
            for j, inner in enumerate(content):
                path = f"{tagged}.content.{j}"
                inner = _object(inner, path)
                if inner.get("type") not in TOOL_RESULT_CONTENT_TYPES:
                    raise _tag_error(path, inner.get("type"), TOOL_RESULT_CONTENT_TYPES)
                if inner["type"] == "text":
                    _check_text_block(inner, f"{path}.text", "messages")
        elif content is not None and not isinstance(content, str):
            raise invalid(f"{tagged}.content: Input should be a valid string or list")
        if "is_error" in block and not isinstance(block["is_error"], bool):
            raise invalid(f"{tagged}.is_error: Input should be a valid boolean")
    elif kind in ("thinking", "redacted_thinking"):
        if role != "assistant":
            raise invalid(f"{where}: {kind} blocks can only be in assistant messages")
        fields = ("thinking", "signature") if kind == "thinking" else ("data",)
        for name in fields:
            if not isinstance(block.get(name), str):
                raise invalid(f"{tagged}.{name}: Field required")


def _check_messages(messages: Any) -> None:
    if messages is None:
        raise invalid("messages: Field required")
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    last = len(messages) - 1
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        message = _object(message, where)
        role = message.get("role")
        if role not in _ROLES_WITH_SYSTEM:
            raise invalid(f"{where}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            raise invalid(f"{where}.content: Field required")
        content = message["content"]
        if role == "system":
            _check_text_blocks(content, f"{where}.content")
        elif isinstance(content, list):
            for j, block in enumerate(content):
                _check_message_block(block, f"{where}.content.{j}", role)
        elif not isinstance(content, str):
            raise invalid(f"{where}.content: Input should be a valid string or list")
        if not content and not (i == last and role == "assistant"):
            raise invalid(
                f"{where}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
    if messages[0].get("role") != "user":
        raise invalid('messages: first message must use the "user" role')
    _check_tool_pairing(messages)


def _blocks_of(message: Mapping[str, Any], kind: str) -> list[tuple[int, Mapping[str, Any]]]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [(j, b) for j, b in enumerate(content) if b.get("type") == kind]


def _turns(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[int]]]:
    """Consecutive messages of one role form one turn (the API merges them); system ones
    sit between turns and belong to none."""
    turns: list[tuple[str, list[int]]] = []
    for i, message in enumerate(messages):
        role = message["role"]
        if role == "system":
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].append(i)
        else:
            turns.append((role, [i]))
    return turns


def _check_tool_pairing(messages: Sequence[Mapping[str, Any]]) -> None:
    """Every tool_result answers a tool_use of the turn before; every tool_use is answered."""
    turns = _turns(messages)
    for t, (role, indices) in enumerate(turns):
        if role == "user":
            previous = turns[t - 1][1] if t > 0 else []
            asked = {b.get("id") for i in previous for _, b in _blocks_of(messages[i], "tool_use")}
            for i in indices:
                for j, block in _blocks_of(messages[i], "tool_result"):
                    if block["tool_use_id"] not in asked:
                        raise invalid(
                            f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                            f"`tool_result` blocks: {block['tool_use_id']}. Each `tool_result` "
                            "block must have a corresponding `tool_use` block in the previous "
                            "message."
                        )
        elif t + 1 < len(turns):
            answered = {
                b.get("tool_use_id")
                for i in turns[t + 1][1]
                for _, b in _blocks_of(messages[i], "tool_result")
            }
            for i in indices:
                missing = [
                    str(b["id"])
                    for _, b in _blocks_of(messages[i], "tool_use")
                    if b["id"] not in answered
                ]
                if missing:
                    raise invalid(
                        f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                        f"immediately after: {', '.join(missing)}. Each `tool_use` block must "
                        "have a corresponding `tool_result` block in the next message."
                    )


# -- tools, tool_choice, thinking, output ----------------------------------------------


def _schema(schema: Any, where: str) -> None:
    try:
        check_request_schema(schema)
    except SchemaProblem as problem:
        raise invalid(f"{where}: {problem}") from None


def _check_tools(tools: Any) -> list[str]:
    """The names of the request's tools, after checking each definition."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names: list[str] = []
    for i, tool in enumerate(tools):
        tool = _object(tool, f"tools.{i}")
        kind = tool.get("type")
        custom = kind in (None, "custom")
        where = f"tools.{i}.custom" if custom else f"tools.{i}.{kind}"
        name = tool.get("name")
        if not isinstance(name, str):
            raise invalid(f"{where}.name: Field required")
        if custom:
            if not _TOOL_NAME.match(name):
                raise invalid(f"{where}.name: String should match pattern '{_TOOL_NAME.pattern}'")
            schema = tool.get("input_schema")
            if schema is None:
                raise invalid(f"{where}.input_schema: Field required")
            schema = _object(schema, f"{where}.input_schema")
            if schema.get("type") != "object":
                raise invalid(f"{where}.input_schema.type: Input should be 'object'")
            _schema(schema, f"{where}.input_schema")
        names.append(name)
    if len(set(names)) != len(names):
        raise invalid("tools: Tool names must be unique.")
    return names


def _thinking_type(params: Mapping[str, Any]) -> str | None:
    thinking = params.get("thinking")
    return thinking.get("type") if isinstance(thinking, Mapping) else None


def forces_tool_use(params: Mapping[str, Any]) -> bool:
    """True when tool_choice is `any` or `tool`: the answer must be a tool_use block."""
    choice = params.get("tool_choice")
    return isinstance(choice, Mapping) and choice.get("type") in ("any", "tool")


def _check_tool_choice(params: Mapping[str, Any], tool_names: Sequence[str]) -> None:
    choice = params.get("tool_choice")
    if choice is None:
        return
    choice = _object(choice, "tool_choice")
    kind = choice.get("type")
    if kind not in TOOL_CHOICE_TYPES:
        raise _tag_error("tool_choice", kind, TOOL_CHOICE_TYPES)
    parallel = choice.get("disable_parallel_tool_use")
    if parallel is not None and not isinstance(parallel, bool):
        raise invalid(f"tool_choice.{kind}.disable_parallel_tool_use: Input should be a boolean")
    if kind in ("any", "tool") and not tool_names:
        raise invalid("tool_choice: tool_choice may only be specified while providing tools")
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            raise invalid("tool_choice.tool.name: Field required")
        if name not in tool_names:
            raise invalid(f"tool_choice.tool.name: Tool '{name}' not found in the request's tools")


def _check_thinking(params: Mapping[str, Any], max_tokens: int | None) -> None:
    thinking = params.get("thinking")
    if thinking is None:
        return
    thinking = _object(thinking, "thinking")
    kind = thinking.get("type")
    if kind not in THINKING_TYPES:
        raise _tag_error("thinking", kind, THINKING_TYPES)
    display = thinking.get("display")
    if display is not None and display not in ("summarized", "omitted"):
        raise invalid(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if budget is None:
            raise invalid("thinking.enabled.budget_tokens: Field required")
        if not _is_int(budget):
            raise invalid("thinking.enabled.budget_tokens: Input should be a valid integer")
        if budget < MIN_THINKING_BUDGET:
            raise invalid(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to "
                f"{MIN_THINKING_BUDGET}"
            )
        # max_tokens 0 is prefill only: the engine refuses it with thinking, more plainly.
        if max_tokens and max_tokens <= budget:
            raise invalid(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult "
                f"our documentation at {_DOCS}#max-tokens-and-context-window-size"
            )
    if kind not in THINKING_ON:
        return
    # Thinking is incompatible with sampling changes and with forced tool use.
    temperature = params.get("temperature")
    if temperature is not None and temperature != 1:
        raise invalid(
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
            f"documentation at {_DOCS}#feature-compatibility"
        )
    if params.get("top_k") is not None:
        raise invalid(
            "`top_k` must be unset when thinking is enabled. Please consult our "
            f"documentation at {_DOCS}#feature-compatibility"
        )
    top_p = params.get("top_p")
    if top_p is not None and top_p < 0.95:
        raise invalid(
            "`top_p` must be unset or between 0.95 and 1 when thinking is enabled. Please "
            f"consult our documentation at {_DOCS}#feature-compatibility"
        )
    if forces_tool_use(params):
        raise invalid("Thinking may not be enabled when tool_choice forces tool use.")


def output_schema(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JSON schema the answer must follow (`output_config.format`), or None."""
    for fmt in (
        (params.get("output_config") or {}).get("format"),
        params.get("output_format"),
    ):
        schema = fmt.get("schema") if isinstance(fmt, Mapping) else None
        if isinstance(schema, Mapping):
            return schema
    return None


def _check_format(fmt: Any, where: str) -> None:
    fmt = _object(fmt, where)
    if fmt.get("type") != "json_schema":
        raise _tag_error(where, fmt.get("type"), ("json_schema",))
    _extra_fields(fmt, frozenset({"type", "schema"}), f"{where}.json_schema.")
    schema = fmt.get("schema")
    if schema is None:
        raise invalid(f"{where}.json_schema.schema: Field required")
    _schema(_object(schema, f"{where}.json_schema.schema"), f"{where}.json_schema.schema")


def _check_output(params: Mapping[str, Any]) -> None:
    config = params.get("output_config")
    if config is not None:
        config = _object(config, "output_config")
        _extra_fields(config, frozenset({"effort", "format", "task_budget"}), "output_config.")
        effort = config.get("effort")
        if effort is not None and effort not in EFFORTS:
            raise invalid(
                f"output_config.effort: Input should be {', '.join(map(repr, EFFORTS[:-1]))} "
                f"or '{EFFORTS[-1]}'"
            )
        if config.get("format") is not None:
            _check_format(config["format"], "output_config.format")
    if params.get("output_format") is not None:
        if config is not None and config.get("format") is not None:
            raise invalid("output_format: cannot be combined with output_config.format")
        _check_format(params["output_format"], "output_format")


# -- the two entry points --------------------------------------------------------------


def validate_prompt(body: Any, *, fields: frozenset[str] = COUNT_FIELDS) -> Mapping[str, Any]:
    """Check the prompt fields shared by /v1/messages and /v1/messages/count_tokens."""
    if not isinstance(body, Mapping):
        raise invalid("Request body must be a JSON object")
    _extra_fields(body, fields)
    _check_messages(body.get("messages"))
    system = body.get("system")
    if system is not None:
        _check_text_blocks(system, "system")
    names = _check_tools(body.get("tools"))
    _check_tool_choice(body, names)
    for key in ("cache_control", "diagnostics", "metadata", "context_management"):
        value = body.get(key)
        if value is not None and not isinstance(value, Mapping):
            raise invalid(f"{key}: Input should be a valid dictionary")
    previous = (body.get("diagnostics") or {}).get("previous_message_id")
    if previous is not None and not isinstance(previous, str):
        raise invalid("diagnostics.previous_message_id: Input should be a valid string")
    speed = body.get("speed")
    if speed is not None and speed not in ("standard", "fast"):
        raise invalid("speed: Input should be 'standard' or 'fast'")
    _check_output(body)
    _check_thinking(body, body.get("max_tokens") if _is_int(body.get("max_tokens")) else None)
    return body


def validate_create(body: Any) -> Mapping[str, Any]:
    """Check a /v1/messages body: the prompt plus max_tokens, sampling, stream and stops."""
    if not isinstance(body, Mapping):
        raise invalid("Request body must be a JSON object")
    if "max_tokens" not in body:
        raise invalid("max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if not _is_int(max_tokens):
        raise invalid("max_tokens: Input should be a valid integer")
    if max_tokens < 0:
        raise invalid("max_tokens: Input should be greater than or equal to 0")
    _check_sampling(body)
    params = validate_prompt(body, fields=CREATE_FIELDS)
    stream = params.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise invalid("stream: Input should be a valid boolean")
    if max_tokens == 0 and stream:
        # Prefill-only requests (cache pre-warming) exist for non-streaming calls only.
        raise invalid(
            "max_tokens: 0 (prefill only) is not supported with stream: true; "
            "send a non-streaming request"
        )
    stops = params.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops)
    ):
        raise invalid("stop_sequences: Input should be a list of non-empty strings")
    return params


# -- what depends on the model ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelTraits:
    """What the request rules need to know about a model (from the catalog)."""

    system_messages: bool = True  # `{"role": "system"}` inside `messages`
    thinking: tuple[str, ...] = ("enabled", "adaptive")  # thinking types it accepts
    keeps_thinking: bool = True  # earlier turns' thinking blocks stay in the prompt


UNKNOWN_MODEL_TRAITS = ModelTraits()  # a model newer than the catalog: assume the newest rules


def traits_of(info: ModelInfo | None) -> ModelTraits:
    """The traits of a catalog model, or the defaults for a model the catalog lacks.

    For a catalogued model, system messages are taken only where the catalog says so (the
    documentation names the models that take them); thinking types the catalog leaves
    unknown are all accepted. Earlier thinking is kept where the catalog says so
    (`keeps_thinking`), else dropped.
    """
    if info is None:
        return UNKNOWN_MODEL_TRAITS
    return ModelTraits(
        system_messages=bool(info.system_messages),
        thinking=tuple(info.thinking) if info.thinking is not None else ("enabled", "adaptive"),
        keeps_thinking=bool(info.keeps_thinking),
    )


def check_model_rules(params: Mapping[str, Any], model: str, traits: ModelTraits) -> None:
    """The rules that depend on the model: system messages and thinking types."""
    if not traits.system_messages:
        for i, message in enumerate(params["messages"]):
            if message.get("role") == "system":
                raise invalid(f"messages.{i}.role: role 'system' is not supported on {model}")
    kind = _thinking_type(params)
    if kind in THINKING_ON:
        if not traits.thinking:
            raise invalid(f"thinking: {model} does not support thinking")
        if kind not in traits.thinking:
            allowed = sorted({"disabled", *traits.thinking})
            raise _tag_error("thinking", kind, allowed)


def without_earlier_thinking(params: Mapping[str, Any]) -> Mapping[str, Any]:
    """The prompt as models that drop earlier thinking see it (and cache it).

    Thinking blocks of assistant turns before the current user turn are ignored and stripped
    from the context (extended-thinking and prompt-caching pages): a user message with
    anything but tool results starts a new turn, so the previous turns' thinking leaves the
    prompt, which changes every cache key after it. Within a tool-use loop (the last user
    message holds only tool results) the current turn's thinking stays.
    """
    messages = params["messages"]
    start = 0  # index of the user message that opened the current turn
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str) or any(
            b.get("type") != "tool_result" for b in content if isinstance(b, Mapping)
        ):
            start = i
            break
    changed = False
    kept: list[Any] = []
    for i, message in enumerate(messages):
        content = message.get("content")
        if i < start and message.get("role") == "assistant" and isinstance(content, list):
            slim = [b for b in content if b.get("type") not in ("thinking", "redacted_thinking")]
            if len(slim) != len(content):
                message, changed = {**message, "content": slim}, True
        kept.append(message)
    return {**params, "messages": kept} if changed else params


def keeps_all_thinking(params: Mapping[str, Any]) -> bool:
    """True when context editing asks to keep every thinking block (`clear_thinking` edit
    with `keep: "all"`, as Claude Code sends): nothing is stripped then."""
    management = params.get("context_management")
    edits = management.get("edits") if isinstance(management, Mapping) else None
    return isinstance(edits, list) and any(
        isinstance(e, Mapping)
        and str(e.get("type", "")).startswith("clear_thinking")
        and e.get("keep") == "all"
        for e in edits
    )


def finite_json_constant(name: str) -> float:
    """`parse_constant` for json.loads: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def finite_json_float(text: str) -> float:
    """`parse_float` for json.loads: `1e999` would otherwise become infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def nesting_depth(value: Any, limit: int) -> int:
    """How deep `value` nests (objects and arrays), counting no further than `limit` + 1."""
    # Level by level, containers only: a 100 KB body is mostly strings, never visited.
    containers = (dict, list)  # a tuple: isinstance with `dict | list` is 3x slower
    level = [value] if isinstance(value, containers) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return depth
        below: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below += [child for child in children if isinstance(child, containers)]
        level = below
    return depth


def is_finite_number(value: Any) -> bool:
    """A JSON number that is neither a bool, NaN nor infinite."""
    return _is_number(value) and math.isfinite(value)
