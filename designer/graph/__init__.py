"""The design as plain data: layers, connections, validation, shapes and events.

Standard library only (no Qt, no torch): the window, the compiler and the command all read it.
"""
from .events import Event, GraphEvents
from .graph import Graph
from .model import (ACTIVATIONS, CONNECTIVITY_KINDS, DEFAULT_SLOPE, DROPOUT_KINDS, GATES, INITS, LAYER_KINDS,
                    NORMS, POOLS, Connection, Connectivity, GraphError, Layer)
from .shapes import (LocalGeometry, connection_weight_count, layer_parameter_count, local_geometry,
                     local_links, local_out_channels, local_target_shape, norm_features, split_grid)
from .signature import owner_of, signatures, stale_owners
from .topology import Flow, analyse
from .validate import Problem, errors, parameter_count, validate

__all__ = [
    "ACTIVATIONS", "CONNECTIVITY_KINDS", "DEFAULT_SLOPE", "DROPOUT_KINDS", "GATES", "INITS", "LAYER_KINDS", "NORMS",
    "POOLS", "Connection", "Connectivity", "Event",
    "Flow", "Graph", "GraphError", "GraphEvents", "Layer", "LocalGeometry", "Problem", "analyse",
    "connection_weight_count", "errors", "layer_parameter_count", "local_geometry", "local_links",
    "local_out_channels", "local_target_shape", "norm_features", "owner_of", "parameter_count", "signatures", "split_grid",
    "stale_owners", "validate",
]
