"""A minimal observer: named events that plain-Python models emit and views subscribe to.

The graph cannot import Qt, so it carries its own tiny signal type; the Qt scene connects
bound methods to these and is told of every change the undo commands make to the model.
"""
from __future__ import annotations

from typing import Any, Callable


class Event:
    """A list of callbacks called in order with the arguments given to :meth:`emit`."""

    __slots__ = ("name", "_callbacks", "_blocked")

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []
        self._blocked = 0

    def connect(self, callback: Callable[..., Any]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        try:
            self._callbacks.remove(callback)
        except ValueError:
            pass

    def emit(self, *args: Any) -> None:
        if self._blocked:
            return
        for callback in list(self._callbacks):
            callback(*args)

    def __repr__(self) -> str:
        return f"<Event {self.name} ({len(self._callbacks)} listeners)>"


class GraphEvents:
    """Every change a :class:`~designer.graph.Graph` can undergo, as an event.

    - ``layer_added(layer)``, ``layer_removed(layer)``
    - ``layer_changed(layer, names)``: ``names`` is the set of field names that changed
    - ``connection_added(connection)``, ``connection_removed(connection)``
    - ``connection_changed(connection, names)``
    - ``reset()``: the whole graph was replaced (a file was opened)
    - ``changed()``: after any of the above, once per operation (for validation, status bars)
    """

    def __init__(self) -> None:
        self.layer_added = Event("layer_added")
        self.layer_removed = Event("layer_removed")
        self.layer_changed = Event("layer_changed")
        self.connection_added = Event("connection_added")
        self.connection_removed = Event("connection_removed")
        self.connection_changed = Event("connection_changed")
        self.reset = Event("reset")
        self.changed = Event("changed")
