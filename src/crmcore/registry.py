"""One registry type for every family of kinds that vendors extend.

Condition kinds, exit-criterion kinds (and the scoring features and routing
strategies built on them) are each a [`Registry`][crmcore.registry.Registry]:
a named table from a ``kind`` name to the attrs class that implements it.
Every registry works the same way:

* ``@registry.register`` adds a class (checked: an attrs class with a
  lower-case ``kind`` name that is not taken, and the methods the family
  needs); registering the same class again is harmless;
* an unknown name fails with an [`UnknownKindError`][crmcore.errors.UnknownKindError]
  that lists the known kinds;
* ``registry.load_entry_points()`` imports the plugins a package lists under
  the registry's entry-point group;
* ``with registry.scoped(MyKind): ...`` registers kinds for the length of a
  block (a test) and restores the table afterwards;
* the one converter ([`crmcore.serialization`][crmcore.serialization])
  structures and unstructures every registered kind of every registry through
  the same two functions, with its ``kind`` tag first.

Examples:
    >>> import attrs
    >>> widgets = Registry("widget kind", group="example.widgets",
    ...                    protocol=object, methods=(("render",),))
    >>> @widgets.register
    ... @attrs.frozen
    ... class Button:
    ...     kind = "button"
    ...     label: str
    ...     def render(self):
    ...         return f"[{self.label}]"
    >>> widgets.lookup("button")("OK").render()
    '[OK]'
    >>> widgets.lookup("slider")
    Traceback (most recent call last):
    ...
    crmcore.errors.UnknownKindError: $.kind: unknown widget kind 'slider' (str); known: button
"""  # noqa: E501

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from crmcore.errors import DataTypeError, DefinitionError, Problem, UnknownKindError

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["KindDraws", "Registry", "registries", "registry_of", "unstructure_kind"]

_K = TypeVar("_K", bound=type)

_KIND_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")

# Every registry ever built, so that the converter serves all of them (and the
# ones later modules or vendors add) through one hook: a list that only grows
# at import time, when a module defines its registry.
_REGISTRIES: list[Registry] = []


class Registry:
    """A table of kinds: ``kind`` name to the attrs class that implements it.

    Args:
        what: What one kind is called in messages, e.g. ``"condition kind"``.
        group: The entry-point group plugins list their kinds under.
        protocol: The type annotations use for "any kind of this family"
            (the converter structures it by the ``kind`` tag).
        methods: Alternatives of method names a kind must have: the class
            needs every name of at least one alternative.
        needs: Those methods in words, for the error message.
        operators: Returns the mixin class whose operator methods (``&``,
            ``str()``...) every registered class gets unless it defines them
            itself: a function, so the mixin may live in a later module.
        limits: Called with the raw JSON data once, before the outermost kind
            of a document is structured (nested kinds are not scanned again):
            raises when the document is too deep or too large.

    Raises:
        DefinitionError: From ``register``, when a class does not qualify.
    """

    def __init__(
        self,
        what: str,
        *,
        group: str,
        protocol: object,
        methods: Sequence[Sequence[str]] = (),
        needs: str = "",
        operators: Callable[[], type] | None = None,
        limits: Callable[[object], None] | None = None,
    ) -> None:
        self.what = what
        self.group = group
        self.protocol = protocol
        self._methods = tuple(tuple(names) for names in methods)
        self._needs = needs or " or ".join(
            " and ".join(f"{name}()" for name in names) for names in self._methods
        )
        self._operators = operators
        self._limits = limits
        self._structuring: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"structuring {what}", default=False
        )
        self._kinds: dict[str, type[Any]] = {}
        _REGISTRIES.append(self)

    def __repr__(self) -> str:
        return f"<Registry of {len(self._kinds)} {self.what}s>"

    # -- registration ---------------------------------------------------------
    def register(self, cls: _K) -> _K:
        """Register a kind class (use as a decorator); return it unchanged.

        Raises:
            DefinitionError: With every reason the class does not qualify.
        """
        problems = []
        kind = getattr(cls, "kind", None)
        if not isinstance(kind, str) or not _KIND_NAME.fullmatch(kind):
            problems.append(
                Problem("$.kind", "a lower-case name such as 'signed_nda' is needed")
            )
        elif kind in self._kinds and self._kinds[kind] is not cls:
            problems.append(Problem("$.kind", f"{kind!r} is already registered"))
        if not (isinstance(cls, type) and attrs.has(cls)):
            problems.append(
                Problem("$", "the class must be an attrs class (@attrs.frozen)")
            )
        if self._methods and not any(
            all(callable(getattr(cls, name, None)) for name in names)
            for names in self._methods
        ):
            problems.append(Problem("$", f"the class needs {self._needs}"))
        if problems:
            raise DefinitionError(
                f"{self.what} {getattr(cls, '__name__', cls)!r}", problems
            )
        new = self._kinds.get(kind) is not cls  # type: ignore[arg-type]
        self._kinds[kind] = cls  # type: ignore[index]
        if new and self._operators is not None:
            _give_operators(cls, self._operators())
        return cls

    @contextmanager
    def scoped(self, *classes: type[Any]) -> Iterator[Registry]:
        """Register ``classes`` for the length of a ``with`` block, then restore.

        Kinds registered inside the block by other means (a decorator, entry
        points) are removed on exit too, so tests never leak kinds into each
        other.

        Examples:
            >>> import attrs
            >>> from crmcore.conditions import CONDITION_KINDS
            >>> @attrs.frozen
            ... class Always:
            ...     kind = "always"
            ...     def test(self, record, as_of):
            ...         return True
            >>> with CONDITION_KINDS.scoped(Always):
            ...     "always" in CONDITION_KINDS
            True
            >>> "always" in CONDITION_KINDS
            False
        """
        saved = dict(self._kinds)
        try:
            for cls in classes:
                self.register(cls)
            yield self
        finally:
            self._kinds.clear()
            self._kinds.update(saved)

    def load_entry_points(self) -> list[str]:
        """Import every plugin listed under this registry's entry-point group.

        Each entry point names a kind class (registered here) or a module that
        registers its kinds when imported. This reads installed package
        metadata (the environment), which is why it is explicit: call it once
        at start-up; the command line does.

        Returns:
            The names of the kinds that are new, sorted.
        """
        from importlib.metadata import entry_points  # noqa: PLC0415 - when asked

        before = set(self._kinds)
        for entry in entry_points(group=self.group):
            loaded = entry.load()
            if isinstance(loaded, type) and loaded not in self._kinds.values():
                self.register(loaded)
        return sorted(set(self._kinds) - before)

    # -- look-up ----------------------------------------------------------------
    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and kind in self._kinds

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._kinds))

    def __len__(self) -> int:
        return len(self._kinds)

    def kinds(self) -> dict[str, type[Any]]:
        """Every registered kind name and its class (a copy)."""
        return dict(self._kinds)

    def lookup(self, kind: object, *, path: str = "$.kind") -> type[Any]:
        """The class registered as ``kind``.

        Raises:
            UnknownKindError: Naming ``path``, the name and the known kinds.
        """
        cls = self._kinds.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise UnknownKindError(self.what, kind, self._kinds, path=path)
        return cls

    def holds(self, value: object) -> bool:
        """Whether ``value`` is an instance of a class registered here."""
        cls = type(value)
        return self._kinds.get(getattr(cls, "kind", None)) is cls  # type: ignore[arg-type]

    def has_class(self, cls: object) -> bool:
        """Whether ``cls`` itself is registered here."""
        return self._kinds.get(getattr(cls, "kind", None)) is cls  # type: ignore[arg-type]

    # -- JSON ---------------------------------------------------------------------
    def structure(
        self, data: object, structure_cls: Callable[[object, type[Any]], Any]
    ) -> Any:
        """Structure JSON data into the class its ``kind`` tag names.

        Raises:
            DataTypeError: When ``data`` is not an object.
            UnknownKindError: When its ``kind`` is not registered.
        """
        if not isinstance(data, Mapping):
            noun = self.what.removesuffix(" kind")
            article = "an" if noun[:1] in set("aeiou") else "a"
            raise DataTypeError("value", data, f"{article} {noun} object with a 'kind'")
        if self._limits is None or self._structuring.get():
            return structure_cls(data, self.lookup(data.get("kind")))
        self._limits(data)
        token = self._structuring.set(True)
        try:
            return structure_cls(data, self.lookup(data.get("kind")))
        finally:
            self._structuring.reset(token)


def _give_operators(cls: type[Any], mixin: type) -> None:
    """Copy the mixin's operator methods onto ``cls`` where it has none of its own."""
    for name, method in vars(mixin).items():
        if not (name.startswith("__") and callable(method)):
            continue
        if not any(name in vars(base) for base in cls.__mro__[:-1]):
            setattr(cls, name, method)


def registries() -> tuple[Registry, ...]:
    """Every registry built so far, in the order their modules were imported.

    The converter serves each of them; later modules (and vendors) that build
    a registry are served too.

    Examples:
        >>> from crmcore.conditions import CONDITION_KINDS
        >>> CONDITION_KINDS in registries()
        True
    """
    return tuple(_REGISTRIES)


def registry_of(cls: object) -> Registry | None:
    """The registry a class is registered in, or ``None``.

    Examples:
        >>> from crmcore.conditions import Eq
        >>> registry_of(Eq).what
        'condition kind'
    """
    for registry in _REGISTRIES:
        if registry.has_class(cls):
            return registry
    return None


def unstructure_kind(
    value: Any, unstructure: Callable[[object], Any]
) -> dict[str, Any]:
    """Turn a registered kind into JSON data: its ``kind`` first, defaults left out.

    Fields whose attrs metadata carries an encoder (``"crmcore_encode"``:
    tagged comparison values, durations) are written by it; sub-kinds (and
    lists of them) recursively; anything else by ``unstructure``.
    """
    data: dict[str, Any] = {"kind": value.kind}
    for attribute in attrs.fields(type(value)):
        if not attribute.init:
            continue
        item = getattr(value, attribute.name)
        if attribute.default is not attrs.NOTHING and item == attribute.default:
            continue  # defaults are left out (a Factory never equals a value)
        encode = attribute.metadata.get("crmcore_encode")
        if encode is not None:
            data[attribute.alias] = encode(item)
        elif registry_of(type(item)) is not None:
            data[attribute.alias] = unstructure_kind(item, unstructure)
        elif (
            isinstance(item, tuple)
            and item
            and all(registry_of(type(v)) is not None for v in item)
        ):
            data[attribute.alias] = [unstructure_kind(v, unstructure) for v in item]
        else:
            data[attribute.alias] = unstructure(item)
    return data


@attrs.frozen
class KindDraws:
    """What a condition kind's ``strategy(draws)`` hook draws its fields from.

    Built by [`crmcore.testing.conditions`][crmcore.testing.conditions] and
    [`crmcore.testing.exit_criteria`][crmcore.testing.exit_criteria]; a
    kind's hook uses the ones it needs, so that its conditions meet fitting
    values in [`condition_records`][crmcore.testing.condition_records]. It
    lives here, beside the registry, so that kinds can name it without
    importing the test helpers (and hypothesis) at run time.

    Attributes:
        paths: Scalar fields (small values, ``None`` or absent).
        values: Comparison values for the scalar fields.
        any_paths: Every field, whatever it holds.
        text_paths: Fields holding strings.
        texts: Strings to look for in them.
        instant_paths: Fields holding aware instants.
        instants: Instants to compare them with.
        durations: Durations for recency kinds (``as_of`` 2026-01-01 UTC).
        collection_paths: Fields holding lists of item records.
        items: Conditions on one item record.
        children: Sub-conditions, for kinds that hold others.
    """

    paths: SearchStrategy[str]
    values: SearchStrategy[Any]
    any_paths: SearchStrategy[str]
    text_paths: SearchStrategy[str]
    texts: SearchStrategy[str]
    instant_paths: SearchStrategy[str]
    instants: SearchStrategy[datetime]
    durations: SearchStrategy[Any]
    collection_paths: SearchStrategy[str]
    items: SearchStrategy[Any]
    children: SearchStrategy[Any]
