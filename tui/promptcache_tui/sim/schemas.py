"""JSON Schema for the simulator: checking schemas, and making instances that validate.

Tool inputs (`tool_use.input`) and structured outputs (`output_config.format`) must validate
against the schema the request gave. Checking is `jsonschema`'s (the dialect the schema
declares, else draft 2020-12); instances come from `jsf` (JSON Schema Faker), seeded from
the request so that the same request always gets the same instance, and are checked with
`jsonschema` before they are used. Both load on first use (jsonschema takes ~100 ms to
import): a request without tools or output formats never pays for them.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from promptcache_tui.sim.memo import Memo, content_key

# jsf draws from the `random` module; one generation at a time keeps the seed ours.
_LOCK = threading.Lock()
ATTEMPTS = 8  # seeds tried before giving up on a schema jsf cannot satisfy
# Sizes past these would make the simulator build huge answers: refused as unsupported.
MAX_SIZE_KEYWORD = 1000
_SIZE_KEYWORDS = ("minItems", "minLength", "minProperties", "minContains")
_DOCS = "https://json-schema.org/draft/2020-12"
# jsf extensions whose values it evaluates as Python: never from a request.
_JSF_CODE_KEYS = frozenset({"$provider", "$state", "$fixed"})
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # seeded dates fall in 2000-2029, whatever the day
_DATE_SPAN_S = 30 * 365 * 86400
# Verdicts on request schemas, by their content: an agent sends the same tools every turn,
# and checking one schema against the metaschema takes ~3 ms.
_VERDICTS: Memo[bytes, str | None] = Memo(max_entries=1024, max_bytes=2 * 1024 * 1024)


class SchemaProblem(ValueError):
    """A schema that is invalid, or that the simulator cannot answer."""


def _walk(value: Any) -> Iterator[Mapping[str, Any]]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _validator_class(schema: Mapping[str, Any]) -> Any:
    from jsonschema import Draft202012Validator, validators

    return validators.validator_for(schema, default=Draft202012Validator)


def check_request_schema(schema: Any) -> None:
    """`check_schema` with its verdict remembered by the schema's content.

    The key keeps the schema's own key order: the first problem found, and so the
    message, can depend on it.
    """
    if not isinstance(schema, Mapping):
        raise SchemaProblem("Input should be a valid dictionary")
    key = content_key(schema)
    if key is None:
        check_schema(schema)  # not plain data: nothing to key it on
        return
    problem = _VERDICTS.get(key, lambda: _problem_of(schema))
    if problem is not None:
        raise SchemaProblem(problem)


def _problem_of(schema: Any) -> str | None:
    try:
        check_schema(schema)
    except SchemaProblem as problem:
        return str(problem)
    return None


def check_schema(schema: Any) -> None:
    """Raise SchemaProblem unless `schema` is a valid JSON Schema the simulator can answer."""
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, Mapping):
        raise SchemaProblem("Input should be a valid dictionary")
    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as error:
        where = "/".join(str(p) for p in error.path)
        raise SchemaProblem(
            f"JSON schema is invalid. It must match JSON Schema draft 2020-12 ({_DOCS})"
            + (f": {where}: {error.message}" if where else f": {error.message}")
        ) from None
    for node in _walk(schema):
        ref = node.get("$ref")
        # The simulator resolves references inside the schema only: it never fetches one.
        if isinstance(ref, str) and not ref.startswith("#"):
            raise SchemaProblem(f"$ref {ref!r} must point inside the schema ('#/...')")
        for key in _SIZE_KEYWORDS:
            size = node.get(key)
            if isinstance(size, int) and size > MAX_SIZE_KEYWORD:
                raise SchemaProblem(
                    f"{key} {size} is more than the simulator answers ({MAX_SIZE_KEYWORD})"
                )


def is_valid(schema: Mapping[str, Any], instance: Any) -> bool:
    """Whether `instance` validates against `schema`."""
    return bool(_validator_class(schema)(schema).is_valid(instance))


def _seed(schema: Mapping[str, Any], salt: str, attempt: int) -> int:
    raw = json.dumps(schema, sort_keys=True, default=str) + "\0" + salt + "\0" + str(attempt)
    return int.from_bytes(hashlib.sha256(raw.encode()).digest()[:8], "big")


def _without_code(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_code(v) for k, v in value.items() if k not in _JSF_CODE_KEYS}
    if isinstance(value, list):
        return [_without_code(v) for v in value]
    return value


def _seeded_datetime() -> datetime:
    return _EPOCH + timedelta(seconds=random.randrange(_DATE_SPAN_S))


_jsf_ready = False


def _jsf() -> Any:
    """jsf, imported on first use (~0.3 s) with its clock-reading date formats replaced."""
    global _jsf_ready
    from jsf import JSF
    from jsf.schema_types import string as jsf_string

    if not _jsf_ready:
        # faker's date_time() ends at "now": the same seed would give another date tomorrow.
        formats = jsf_string.format_map
        formats["date-time"] = lambda: _seeded_datetime().isoformat()
        formats["date"] = lambda: _seeded_datetime().date().isoformat()
        formats["time"] = lambda: _seeded_datetime().timetz().isoformat()
        _jsf_ready = True
    return JSF


def instance_of(schema: Mapping[str, Any], salt: str = "") -> Any:
    """A deterministic instance of `schema` that validates against it.

    `salt` (e.g. the question) varies the instance between requests with the same schema.
    Raises SchemaProblem when no valid instance is found (a schema too tight for jsf).
    """
    from faker import generator as faker_generator

    clean = _without_code(schema)
    first: Any = _NOTHING
    for attempt in range(ATTEMPTS):
        with _LOCK:
            make = _jsf()
            # jsf and rstr draw from `random`, faker from its own shared Random: seed both.
            shared = faker_generator.random
            saved = random.getstate(), shared.getstate()
            seed = _seed(schema, salt, attempt)
            random.seed(seed)
            shared.seed(seed)
            try:
                candidate = make(clean).generate()
            except (RecursionError, ValueError, TypeError, KeyError, IndexError, AttributeError):
                candidate = _NOTHING
            finally:  # other users of either generator see no change
                random.setstate(saved[0])
                shared.setstate(saved[1])
        if candidate is not _NOTHING and is_valid(schema, candidate):
            if not _has_empty_string(candidate):
                return candidate
            if first is _NOTHING:
                first = candidate  # valid, but an empty string reads like a bug: keep looking
    if first is not _NOTHING:
        return first
    raise SchemaProblem("the simulator could not produce an instance of this schema")


def _has_empty_string(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if item == "":
            return True
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


_NOTHING = object()
