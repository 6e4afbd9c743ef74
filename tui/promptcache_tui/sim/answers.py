"""Deterministic offline answers: the context sentences that share the most words with the question.

The answer is useful (it quotes what the cached context says about the question) and always
the same for the same prompt. Its tokens are counted with the project's estimator
(`core.tokens`) and cut to `max_tokens` exactly.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from promptcache_tui.core.tokens import token_pieces

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
class Generation:
    """The answer to one request, cut to its limits."""

    text: str
    deltas: tuple[tuple[str, int], ...]  # (text, tokens) per streamed text_delta
    output_tokens: int
    stop_reason: str  # "end_turn" | "max_tokens" | "stop_sequence"
    stop_sequence: str | None


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


def split_question(params: Mapping[str, Any]) -> tuple[str, str, str]:
    """(question, context, turns): the last user text block; the system and tool texts; and
    every other message text (the conversation so far)."""
    messages = list(params.get("messages") or [])
    question = ""
    if messages and isinstance(messages[-1], Mapping) and messages[-1].get("role") == "user":
        content = messages[-1].get("content")
        if isinstance(content, str):
            question, messages[-1] = content, {"role": "user", "content": []}
        elif isinstance(content, list):
            for i in range(len(content) - 1, -1, -1):
                block = content[i]
                if isinstance(block, Mapping) and block.get("type") == "text":
                    question = str(block.get("text", ""))
                    rest = content[:i] + content[i + 1 :]
                    messages[-1] = {"role": "user", "content": rest}
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


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOPWORDS]


@dataclass(frozen=True, slots=True)
class _Index:
    sentences: tuple[str, ...]
    postings: dict[str, tuple[int, ...]]  # word -> sentences containing it


def _build_index(text: str) -> _Index:
    sentences = tuple(s.strip() for s in _SENTENCE_END.split(text) if len(s.split()) >= 3)
    postings: dict[str, list[int]] = defaultdict(list)
    for i, sentence in enumerate(sentences):
        for word in set(_words(sentence)):
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
    moving = _build_index(turns) if turns else _Index((), {})
    offset = len(fixed.sentences)  # the turns' sentences are numbered after the context's

    def sentence(i: int) -> str:
        return fixed.sentences[i] if i < offset else moving.sentences[i - offset]

    scores: dict[int, float] = defaultdict(float)
    total = offset + len(moving.sentences)
    for word in set(_words(question)):
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


def generate(params: Mapping[str, Any], max_tokens: int) -> Generation:
    """The answer cut at the first stop sequence or at `max_tokens`, whichever comes first."""
    if max_tokens <= 0:
        return Generation("", (), 0, "max_tokens", None)
    text = compose_answer(params)
    stop_reason, stop_sequence = "end_turn", None
    cut = len(text)
    for sequence in params.get("stop_sequences") or []:
        at = text.find(sequence)
        if 0 <= at < cut:
            cut, stop_reason, stop_sequence = at, "stop_sequence", sequence
    pieces = token_pieces(text[:cut])
    if len(pieces) > max_tokens:
        pieces, stop_reason, stop_sequence = pieces[:max_tokens], "max_tokens", None
    deltas: list[tuple[str, int]] = []
    for piece in pieces:
        # One text_delta per word: a new delta starts at whitespace.
        if deltas and not piece[0].isspace():
            previous, count = deltas[-1]
            deltas[-1] = (previous + piece, count + 1)
        else:
            deltas.append((piece, 1))
    return Generation("".join(pieces), tuple(deltas), len(pieces), stop_reason, stop_sequence)
