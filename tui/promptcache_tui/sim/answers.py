"""Deterministic offline answers: the context sentences that share the most words with the question.

The answer is useful (it quotes what the cached context says about the question) and always
the same for the same prompt. With thinking on, a short thinking block comes first; with
`tool_choice` `any` or `tool`, the answer is a `tool_use` block whose input validates against
the tool's schema; with `output_config.format`, it is JSON that validates against the format's
schema. Tokens are counted with the project's estimator (`core.tokens`), cut to `max_tokens`
exactly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from promptcache_tui.core.tokens import token_pieces
from promptcache_tui.sim.errors import invalid, new_id
from promptcache_tui.sim.request import THINKING_ON, forces_tool_use, output_schema
from promptcache_tui.sim.schemas import SchemaProblem, instance_of

MAX_SENTENCES = 3
MAX_SENTENCE_WORDS = 60
# Asking "in detail" (or for "everything") gets a long answer: up to this many sentences,
# uncut, so long streams can be tried and measured offline.
DETAILED_SENTENCES = 400
_DETAIL_WORDS = frozenset({"detail", "detailed", "everything", "verbatim", "length"})

_WORD = re.compile(r"[a-z0-9]+")
# Sentence ends, or line breaks (headings, list items and code lines read as sentences).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_STOPWORDS = frozenset(
    (
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "tell",
        "please",
        "explain",
        "describe",
        "give",
        "show",
        "say",
        "said",
        "done",
        "much",
        "many",
    )
)


@dataclass(frozen=True, slots=True)
class Block:
    """One content block of an answer, with the pieces it is streamed in."""

    type: str  # "thinking" | "text" | "tool_use"
    text: str  # the thinking, the answer text, or the tool input as JSON
    deltas: tuple[tuple[str, int], ...]  # (piece, tokens) per streamed delta
    signature: str = ""  # thinking blocks
    tool_id: str = ""  # tool_use blocks
    tool_name: str = ""
    tool_input: Mapping[str, Any] | None = None

    @property
    def tokens(self) -> int:
        """Output tokens this block costs."""
        return sum(count for _, count in self.deltas)

    def content(self) -> dict[str, Any]:
        """The block as a `message.content` entry."""
        if self.type == "thinking":
            return {"type": "thinking", "thinking": self.text, "signature": self.signature}
        if self.type == "tool_use":
            return {
                "type": "tool_use",
                "id": self.tool_id,
                "name": self.tool_name,
                "input": dict(self.tool_input or {}),
            }
        return {"type": "text", "text": self.text}

    def start(self) -> dict[str, Any]:
        """The `content_block` of its `content_block_start` event."""
        if self.type == "thinking":
            return {"type": "thinking", "thinking": "", "signature": ""}
        if self.type == "tool_use":
            return {"type": "tool_use", "id": self.tool_id, "name": self.tool_name, "input": {}}
        return {"type": "text", "text": ""}

    def delta(self, piece: str) -> dict[str, Any]:
        """The `delta` of one `content_block_delta` event."""
        if self.type == "thinking":
            return {"type": "thinking_delta", "thinking": piece}
        if self.type == "tool_use":
            return {"type": "input_json_delta", "partial_json": piece}
        return {"type": "text_delta", "text": piece}


@dataclass(frozen=True, slots=True)
class Generation:
    """The answer to one request, cut to its limits."""

    blocks: tuple[Block, ...]
    output_tokens: int
    stop_reason: str  # "end_turn" | "max_tokens" | "stop_sequence" | "tool_use"
    stop_sequence: str | None

    @property
    def text(self) -> str:
        """The answer's text blocks, joined."""
        return "".join(b.text for b in self.blocks if b.type == "text")


def _block_texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
        return
    if not isinstance(content, list):
        return
    for block in content:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            yield str(block.get("text", ""))
        elif kind == "document":
            source = block.get("source")
            if isinstance(source, Mapping) and source.get("type") == "text":
                yield str(source.get("data", ""))
            elif isinstance(source, Mapping) and source.get("type") == "content":
                yield from _block_texts(source.get("content"))
        elif kind == "tool_result":
            yield from _block_texts(block.get("content"))


def _last_text(content: Any) -> tuple[str, int] | None:
    """The last text block of a message's content and its index (-1 for a string)."""
    if isinstance(content, str):
        return content, -1
    if isinstance(content, list):
        for i in range(len(content) - 1, -1, -1):
            block = content[i]
            if isinstance(block, Mapping) and block.get("type") == "text":
                return str(block.get("text", "")), i
    return None


def split_question(params: Mapping[str, Any]) -> tuple[str, str, str]:
    """(question, context, turns): the last user text block; the system and tool texts; and
    every other message text (the conversation so far).

    The question is the latest user text, wherever it is: after it may come tool results
    (a tool-use loop) or mid-conversation system messages (Claude Code sends one last).
    """
    messages = list(params.get("messages") or [])
    question = ""
    for m in range(len(messages) - 1, -1, -1):
        message = messages[m]
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        found = _last_text(message.get("content"))
        if found is None:
            continue
        question, at = found
        content = message["content"]  # a list when `at` >= 0
        rest = [] if at < 0 else content[:at] + content[at + 1 :]
        messages[m] = {"role": "user", "content": rest}
        break
    parts = list(_block_texts(params.get("system")))
    for tool in params.get("tools") or []:
        if isinstance(tool, Mapping) and tool.get("description"):
            parts.append(str(tool["description"]))
    turns: list[str] = []
    for message in messages:
        if isinstance(message, Mapping):
            turns.extend(_block_texts(message.get("content")))
    return question, "\n".join(p for p in parts if p), "\n".join(t for t in turns if t)


def tool_results(params: Mapping[str, Any]) -> str | None:
    """The text of the last user message when it holds only tool results, else None."""
    messages = params.get("messages") or []
    last = next((m for m in reversed(messages) if m.get("role") != "system"), None)
    if last is None or last.get("role") != "user" or not isinstance(last.get("content"), list):
        return None
    content = last["content"]
    if not content or any(b.get("type") != "tool_result" for b in content):
        return None
    return "\n".join(_block_texts(content))


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOPWORDS]


@dataclass(frozen=True, slots=True)
class _Index:
    sentences: tuple[str, ...]
    postings: dict[str, tuple[int, ...]]  # word -> sentences containing it


def _build_index(text: str, only: frozenset[str] | None = None) -> _Index:
    """The sentences of `text` and, for each word (each of `only`, if given), those holding it."""
    sentences = tuple(s.strip() for s in _SENTENCE_END.split(text) if len(s.split()) >= 3)
    postings: dict[str, list[int]] = defaultdict(list)
    for i, sentence in enumerate(sentences):
        words = set(_words(sentence))
        for word in words if only is None else words & only:
            postings[word].append(i)
    return _Index(sentences, {w: tuple(ids) for w, ids in postings.items()})


# Cached for the system and tool texts only: the same large context is asked about again and
# again. A conversation's turns differ on every request, so caching them (with the context,
# as one key) kept up to 8 ever-longer copies of a conversation that were never read again:
# the TUI's memory grew ~0.2 MB per long answer (benchmarks/bench_memory.py).
_index = lru_cache(maxsize=8)(_build_index)


def wants_detail(question: str) -> bool:
    """Whether the question asks for a long answer ("in detail", "everything", ...)."""
    return not _DETAIL_WORDS.isdisjoint(_WORD.findall(question.lower()))


def related_sentences(
    question: str,
    context: str,
    limit: int = MAX_SENTENCES,
    max_words: int | None = MAX_SENTENCE_WORDS,
    *,
    turns: str = "",
) -> list[str]:
    """Up to `limit` sentences of `context`, then `turns`, sharing the most (rare) words with
    the question: the same as for the two joined by a newline."""
    fixed = _index(context)
    asked = frozenset(_words(question))
    # The turns change with every request: only the question's words are looked up in them,
    # so only theirs are indexed (postings of every word of a long conversation, built and
    # dropped on each request, were the simulator's largest passing allocations).
    moving = _build_index(turns, asked) if turns else _Index((), {})
    offset = len(fixed.sentences)  # the turns' sentences are numbered after the context's

    def sentence(i: int) -> str:
        return fixed.sentences[i] if i < offset else moving.sentences[i - offset]

    scores: dict[int, float] = defaultdict(float)
    total = offset + len(moving.sentences)
    for word in asked:
        ids = [*fixed.postings.get(word, ()), *(offset + i for i in moving.postings.get(word, ()))]
        if ids:
            weight = math.log(1 + total / len(ids))  # rare words say more than common ones
            for i in ids:
                scores[i] += weight
    best: list[int] = []
    seen: set[str] = set()
    for i in sorted(scores, key=lambda i: (-scores[i], i)):
        if sentence(i) not in seen:  # a repeated sentence says nothing new
            seen.add(sentence(i))
            best.append(i)
            if len(best) == limit:
                break
    out = []
    for i in sorted(best):
        words = sentence(i).split()
        cut = words if max_words is None else words[:max_words]
        out.append(" ".join(cut) + (" ..." if len(cut) < len(words) else ""))
    return out


def compose_answer(params: Mapping[str, Any]) -> str:
    """The full (uncut) answer text for a request."""
    question, context, turns = split_question(params)
    results = tool_results(params)
    if results is not None:
        # After a tool call, the answer reports what the tool returned.
        found = (
            # As turns, not context: tool output differs on every request (never cache it).
            related_sentences(question, "", turns=results)
            or [s.strip() for s in _SENTENCE_END.split(results) if s.strip()][:MAX_SENTENCES]
        )
        if not found:
            return "The tool returned nothing."
        lines = "\n".join(f"- {sentence}" for sentence in found)
        return f"The tool returned:\n\n{lines}"
    if not context.strip() and not turns.strip():
        shown = " ".join(question.split()[:40]) or "(nothing)"
        return (
            "The offline simulator answers from the prompt's context, and this prompt has "
            f"none. You asked: {shown}"
        )
    if wants_detail(question):
        found = related_sentences(question, context, DETAILED_SENTENCES, None, turns=turns)
    else:
        found = related_sentences(question, context, turns=turns)
    if not found:
        return (
            "The offline simulator found nothing in the context that shares a word with "
            "the question. Ask about something the context mentions."
        )
    lines = "\n".join(f"- {sentence}" for sentence in found)
    return f"From the context, the passages most related to your question:\n\n{lines}"


def _word_deltas(pieces: list[str]) -> tuple[tuple[str, int], ...]:
    # One delta per word: a new delta starts at whitespace.
    deltas: list[tuple[str, int]] = []
    for piece in pieces:
        if deltas and not piece[0].isspace():
            previous, count = deltas[-1]
            deltas[-1] = (previous + piece, count + 1)
        else:
            deltas.append((piece, 1))
    return tuple(deltas)


def _chunk_deltas(pieces: list[str], size: int) -> tuple[tuple[str, int], ...]:
    return tuple(
        ("".join(pieces[i : i + size]), len(pieces[i : i + size]))
        for i in range(0, len(pieces), size)
    )


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\0".join(parts).encode()).digest()


def _thinking_text(question: str, params: Mapping[str, Any]) -> str:
    shown = " ".join(question.split()[:30]) or "(no question)"
    if forces_tool_use(params) or params.get("tools"):
        plan = "Decide whether one of the tools helps, then answer from the context."
    elif output_schema(params) is not None:
        plan = "Answer with JSON that follows the requested schema."
    else:
        plan = "Look for the passages of the context that share the most words with it."
    return f"The user asks: {shown}\n\nPlan: {plan}"


def _signature(model: str, thinking: str) -> str:
    # Opaque, like the API's, and the same for the same thinking on the same model.
    return base64.b64encode(_digest("signature", model, thinking) * 3).decode()


def _pick_tool(params: Mapping[str, Any], question: str) -> int:
    """The index in `tools` of the tool to call."""
    tools = list(params.get("tools") or [])
    custom = [i for i, t in enumerate(tools) if t.get("type") in (None, "custom")]
    choice = params.get("tool_choice") or {}
    if choice.get("type") == "tool":
        return next(i for i in custom if tools[i].get("name") == choice.get("name"))
    asked = set(_words(question))

    def score(i: int) -> int:
        tool = tools[i]
        return len(asked & set(_words(f"{tool.get('name', '')} {tool.get('description', '')}")))

    # The custom tool sharing the most words with the question; the first one on a tie.
    return max(custom, key=lambda i: (score(i), -i))


def _instance(schema: Mapping[str, Any], salt: str, where: str) -> Any:
    try:
        return instance_of(schema, salt)
    except SchemaProblem as problem:
        raise invalid(f"{where}: {problem}") from None


def _wants_tool_use(params: Mapping[str, Any]) -> bool:
    if not forces_tool_use(params):
        return False
    if not any(t.get("type") in (None, "custom") for t in params.get("tools") or []):
        return False
    # A tool result was just returned: answer it in text rather than loop forever.
    return tool_results(params) is None


def generate(params: Mapping[str, Any], max_tokens: int, *, model: str = "") -> Generation:
    """The answer: thinking (if asked), then a tool call, JSON or text, cut to the limits.

    Text stops at the first stop sequence or at `max_tokens`, whichever comes first; the
    thinking counts toward `max_tokens` and, with `budget_tokens`, stops at the budget.
    """
    if max_tokens <= 0:
        return Generation((), 0, "max_tokens", None)
    question, _, _ = split_question(params)
    blocks: list[Block] = []
    left = max_tokens
    thinking = params.get("thinking") or {}
    if thinking.get("type") in THINKING_ON:
        shown = "" if thinking.get("display") == "omitted" else _thinking_text(question, params)
        budget = thinking.get("budget_tokens") or max_tokens
        pieces = token_pieces(shown)[: min(budget, left)]
        text = "".join(pieces)
        blocks.append(Block("thinking", text, _word_deltas(pieces), _signature(model, text)))
        left -= len(pieces)
        if left <= 0:
            return Generation(tuple(blocks), max_tokens, "max_tokens", None)
    if _wants_tool_use(params):
        index = _pick_tool(params, question)
        tool = params["tools"][index]
        salt = f"{tool.get('name')}\0{question}"
        value = _instance(tool["input_schema"], salt, f"tools.{index}.custom.input_schema")
        raw = json.dumps(value, ensure_ascii=False)
        pieces = token_pieces(raw)
        cut = len(pieces) > left
        blocks.append(
            Block(
                "tool_use",
                raw,
                _chunk_deltas(pieces[:left], 8),
                tool_id=new_id("toolu"),
                tool_name=str(tool.get("name")),
                # A call cut by max_tokens has no complete input, as on the API.
                tool_input={} if cut else value,
            )
        )
        used = max_tokens - left + min(len(pieces), left)
        return Generation(tuple(blocks), used, "max_tokens" if cut else "tool_use", None)
    schema = output_schema(params)
    if schema is not None:
        value = _instance(schema, question, "output_config.format.json_schema.schema")
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = compose_answer(params)
    stop_reason, stop_sequence = "end_turn", None
    end = len(text)
    for sequence in params.get("stop_sequences") or []:
        at = text.find(sequence)
        if 0 <= at < end:
            end, stop_reason, stop_sequence = at, "stop_sequence", sequence
    pieces = token_pieces(text[:end])
    if len(pieces) > left:
        pieces, stop_reason, stop_sequence = pieces[:left], "max_tokens", None
    if pieces:
        blocks.append(Block("text", "".join(pieces), _word_deltas(pieces)))
    used = max_tokens - left + len(pieces)
    return Generation(tuple(blocks), used, stop_reason, stop_sequence)
