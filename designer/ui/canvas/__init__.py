"""The canvas: where a person draws a network as neurons, layers and connections.

:class:`CanvasView` is the widget the main window embeds; ``PALETTE_MIME`` is the MIME type of a
palette item dragged onto it (its data: ``input``, ``neurons``, ``neuron``, ``lstm`` or ``gru``).
A layer's ``position`` is the centre of its card, in scene units (snapped to a 20-unit grid).

- ``layout``: where a layer's neurons sit on its card (plain Python).
- ``layer_item``, ``connection_item``: how a layer and a connection are drawn and hit.
- ``scene``: items by id, following the graph's events.
- ``view``: mouse, keys, drops and the public API the window, inspector and training use.
"""
from .view import PALETTE_MIME, CanvasView

__all__ = ["PALETTE_MIME", "CanvasView"]
