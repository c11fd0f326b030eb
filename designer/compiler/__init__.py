"""Designs become PyTorch modules: ``compile_graph(graph) -> DesignModule``, ``export_source(graph)``.

Every neuron sums what reaches it through its incoming connections, adds its bias and applies
its activation. The compiler turns a design into Python source for ``forward``/``logits`` (one
``F.linear`` per dense connection, ``F.conv1d``/``F.conv2d`` per shared local connection, a
locally connected kernel per unshared one, a time loop for recurrent designs) and runs that code;
``export_source`` writes the same code out as a standalone file.

Named weights (``DesignModule.named_weights()``, ``weights.safetensors``), float32:

- ``<layer>.bias``: ``[units]``, one per neuron (neuron layers with ``bias: true``).
- ``<connection>.weight``, dense: ``[target_units, source_units]`` over flattened shapes; into an
  ``lstm``/``gru`` layer ``[gates * units, source_units]``, gates in PyTorch's order (LSTM i, f, g, o;
  GRU r, z, n).
- ``<connection>.weight``, local and shared (a convolution): ``[out_channels, in_channels, *window]``.
- ``<connection>.weight``, local and unshared (locally connected): ``[*target_shape, in_channels,
  *window]``: each target neuron's own weights over its window. Entry ``[*t, c, *k]`` multiplies
  source value ``[c, p * stride + k - pad_before]`` per grid dimension, where ``t`` is the target
  neuron (``[out_channel, row, column]``, ``[row, column]`` or ``[position]`` as the target's shape
  reads) and ``p`` its grid position; taps that fall on the padding multiply zeros. Flattened, it
  is ``[target_units, in_channels * window_size]`` row-major. (Held internally per window offset,
  ``[window_size, out_channels, *out_grid, in_channels]``, which is faster to compute with.)
- ``<layer>.weight_hh``: ``[gates * units, units]`` of ``lstm``/``gru`` layers; ``<layer>.bias``
  ``[gates * units]`` is the LSTM's one bias (PyTorch's ``b_ih + b_hh``) or the GRU's ``b_ih``;
  ``<layer>.bias_hh`` ``[gates * units]`` is the GRU's ``b_hh`` (it sits inside the reset gate).

Disabled links (``connection.disabled``) are multiplied by a mask in every forward pass, so their
weights and gradients are exactly zero; the mask only exists for connections that have some. A
disabled link of a shared local connection switches off that one position's use of the kernel
entry (the kernel itself stays trainable for the other positions). A disabled ``(t, s)`` link into
an ``lstm``/``gru`` layer switches off source ``s`` for every gate of unit ``t``.

``step`` outputs 1 where the sum is above 0, else 0; it trains with the derivative of the
logistic sigmoid as a surrogate gradient (:class:`~designer.compiler.runtime.StepFunction`).

Sequence designs (a recurrent connection or an ``lstm``/``gru`` layer among the layers that take
part) take ``[batch, time, ...]``; every layer runs once per step, a recurrent connection reads
its source's value of the step before (zeros at the first step), the output is the output
layer's value at the last step. Only layers reached from the input that lead to the output take
part in the computation; every layer and connection still holds its weights, so the module's
parameter count equals :func:`designer.graph.parameter_count` and saved weights survive edits.
"""
from .errors import CompileError
from .export import export_source
from .module import DesignModule, compile_graph

__all__ = ["CompileError", "DesignModule", "compile_graph", "export_source"]
