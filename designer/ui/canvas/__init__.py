"""The canvas: where a person draws a network as neurons, layers and connections.

:class:`CanvasView` is the widget the main window embeds; ``PALETTE_MIME`` is the MIME type of a
palette item dragged onto it (its data: ``input``, ``neurons``, ``neuron``, ``lstm`` or ``gru``).
"""
from .view import PALETTE_MIME, CanvasView

__all__ = ["PALETTE_MIME", "CanvasView"]
