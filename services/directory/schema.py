"""Read a directory file's YAML into typed specs, keeping each node's line for messages."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lienthong.directory.errors import DirectoryError, Problem

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml: the same result, ten times slower
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

_TAG = "tag:yaml.org,2002:"
_STR_TAG = _TAG + "str"
_SCALAR_TAGS = frozenset(_TAG + name for name in ("null", "bool", "int", "float", "timestamp"))
_COLLECTION_TAGS = frozenset((_TAG + "seq", _TAG + "map"))
_MAX_DEPTH = 8  # the format nests four levels; anything deeper is an alias loop or a mistake

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]  # a place in the file, as pydantic reports it: ("agencies", 3, "code")


class _Spec(BaseModel):
    # Strict: `id: 12` is a mistake to report, not a string to invent.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EndpointSpec(_Spec):
    """An `endpoints` entry."""

    # The id becomes part of a Kafka topic name (at most 249 characters with the prefix).
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=200)]
    name: Annotated[str, Field(min_length=1)]
    topic: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")] = None
    credential_sha256: Annotated[str | None, Field(pattern=r"^[0-9a-f]{64}$")] = None


class AgencySpec(_Spec):
    """An `agencies` entry."""

    code: str
    name: Annotated[str, Field(min_length=1)]
    parent: str | None = None
    endpoint: str


class GroupSpec(_Spec):
    """A `groups` entry."""

    # Lower case, so that a group name can never be mistaken for an agency code.
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    description: str = ""
    members: list[str] = []
    under: list[str] = []
    pattern: str | None = None
    senders: list[str] = []  # agency codes and groups allowed to address it; empty = any


class DirectorySpec(_Spec):
    """A whole directory file."""

    version: Literal[1]
    endpoints: list[EndpointSpec]
    agencies: list[AgencySpec]
    groups: list[GroupSpec] = []


class _Loader(_SafeLoader):
    """The safe loader, remembering the type of each plain scalar it has seen."""

    # A directory repeats its keys, endpoint ids and parent codes thousands of times, and
    # PyYAML types every plain scalar by trying regexes in Python: remembering saves about a
    # quarter of the time to compose a national directory. The type of a plain scalar
    # depends on its text alone (the safe loader has no path-dependent resolvers).
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._plain_tags: dict[str, str] = {}

    def resolve(self, kind: type[Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        """Return the tag of a node, from memory for a plain scalar seen before."""
        if kind is not ScalarNode or value is None or not implicit[0]:
            return self._resolve(kind, value, implicit)
        tag = self._plain_tags.get(value)
        if tag is None:
            tag = self._plain_tags[value] = self._resolve(kind, value, implicit)
        return tag

    def _resolve(self, kind: type[Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return tag


class Locator:
    """Find the line of a place in the YAML, given as a path of keys and indexes."""

    def __init__(self, root: Node | None) -> None:
        self._root = root

    def line(self, *path: str | int) -> int:
        """Return the 1-based line of the deepest step of the path that exists in the file."""
        node = self._root
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for step in path:
            found = _step(node, step)
            if found is None:
                break
            line, node = found
        return line


def _step(node: Node, step: str | int) -> tuple[int, Node] | None:
    """Return the line and node one step down; for a mapping, the line where the key is."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == str(step):
                return key.start_mark.line + 1, value
    elif isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        item: Node = node.value[step]
        return item.start_mark.line + 1, item
    return None


def read_spec(text: str, source: str) -> tuple[DirectorySpec, Locator]:
    """Parse and type-check a directory file; raise DirectoryError listing every problem."""
    return read_model(text, source, DirectorySpec)


def read_model(text: str, source: str, model: type[M]) -> tuple[M, Locator]:
    """Parse a YAML file strictly into `model`; raise DirectoryError listing every problem."""
    # Shared with the access file (lienthong.security.access): the same duplicate-key, tag
    # and depth checks, and the same `file:line: message` problems.
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise DirectoryError([Problem(source, line, f"invalid YAML: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise DirectoryError([Problem(source, 1, f"invalid YAML: {exc}")]) from exc
    problems: list[Problem] = []
    data = _to_python(root, source, problems, 0) if root is not None else {}
    if problems:
        raise DirectoryError(problems)
    where = Locator(root)
    try:
        return model.model_validate(data), where
    except ValidationError as exc:
        raise DirectoryError(
            Problem(source, where.line(*error["loc"]), _message(error))
            for error in exc.errors(include_url=False)
        ) from exc


def _message(error: Any) -> str:
    """Phrase one pydantic error for someone editing the YAML file."""
    loc: Loc = error["loc"]
    where = _dotted(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r} in {_dotted(loc[:-1])}"
    if kind == "missing":
        return f"missing key {loc[-1]!r} in {_dotted(loc[:-1])}"
    if kind in {"model_type", "dict_type"}:
        return f"{where}: expected a mapping"
    given = error.get("input")
    # Echo the value to help find it, except where a misplaced API key would be put.
    shown = f" (got {given!r})" if isinstance(given, str | int | float | bool) else ""
    if "credential_sha256" in loc:
        shown = ""
    return f"{where}: {error['msg']}{shown}"


def _dotted(loc: Loc) -> str:
    """Render a pydantic location as `agencies[3].endpoint`."""
    text = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in loc)
    return text.lstrip(".") or "the file"


def _to_python(node: Node, source: str, problems: list[Problem], depth: int) -> Any:
    """Turn a node into plain data, reporting duplicate keys, odd tags and deep nesting."""
    # Written out rather than SafeConstructor.construct_document: it is a few times faster on
    # a million nodes, and PyYAML would silently keep the last of two duplicate keys.
    line = node.start_mark.line + 1
    if depth > _MAX_DEPTH:
        problems.append(Problem(source, line, "nested too deeply for a directory file"))
        return None
    if isinstance(node, ScalarNode):
        return _scalar(node, source, problems)
    if node.tag not in _COLLECTION_TAGS:
        problems.append(Problem(source, line, f"unsupported YAML tag {node.tag!r}"))
    if isinstance(node, SequenceNode):
        return [_to_python(item, source, problems, depth + 1) for item in node.value]
    mapping: dict[Any, Any] = {}
    key_lines: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = _to_python(key_node, source, problems, depth + 1)
        key_line = key_node.start_mark.line + 1
        if not isinstance(key, str | int | float | bool):
            problems.append(Problem(source, key_line, "a mapping key must be a plain scalar"))
        elif key in mapping:
            message = f"duplicate key {key!r}: first at line {key_lines[key]}"
            problems.append(Problem(source, key_line, message))
        else:
            key_lines[key] = key_line
            mapping[key] = _to_python(value_node, source, problems, depth + 1)
    return mapping


def _scalar(node: ScalarNode, source: str, problems: list[Problem]) -> Any:
    """Return a scalar as str, int, float, bool, None or date, as YAML 1.1 types it."""
    if node.tag == _STR_TAG:
        return node.value
    line = node.start_mark.line + 1
    if node.tag not in _SCALAR_TAGS:
        problems.append(Problem(source, line, f"unsupported YAML tag {node.tag!r}"))
        return None
    try:
        return SafeConstructor.yaml_constructors[node.tag](_SCALARS, node)
    except (ValueError, AttributeError, yaml.YAMLError):  # e.g. `!!int abc`
        problems.append(Problem(source, line, f"cannot read {node.value!r} as {node.tag}"))
        return None


_SCALARS = SafeConstructor()  # only its scalar constructors are used; they keep no state
