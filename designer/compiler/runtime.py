"""The building blocks that compiled forward code calls.

Torch only, and no imports beyond ``torch``: :func:`~designer.compiler.export_source`
copies these definitions verbatim into the standalone file it writes, so a compiled module and its
exported source run the very same code.
"""
import torch


class StepFunction(torch.autograd.Function):
    """The perceptron's threshold, trainable.

    Forward: 1 where the input is above 0, else 0 (exactly). Backward: a surrogate gradient,
    the derivative of the logistic sigmoid at the same input, ``sigmoid(z) * (1 - sigmoid(z))``
    (straight-through style: the step's true derivative is zero almost everywhere).
    """

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return (z > 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        s = torch.sigmoid(z)
        return grad * s * (1 - s)


def step(z):
    """Heaviside step with the sigmoid's derivative as its gradient (see :class:`StepFunction`)."""
    return StepFunction.apply(z)


class SignFunction(torch.autograd.Function):
    """The bipolar threshold, trainable: 1 where the input is above 0, else -1 (exactly).

    Backward: a surrogate gradient, the derivative of ``tanh`` at the same input, ``1 - tanh(z)^2``
    (the sign's true derivative is zero almost everywhere; tanh is the smooth -1..1 curve it steps along).
    """

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return torch.where(z > 0, 1.0, -1.0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad * (1 - torch.tanh(z) ** 2)


def sign(z):
    """-1/+1 threshold with tanh's derivative as its gradient (see :class:`SignFunction`)."""
    return SignFunction.apply(z)


def window_slices(window, stride, out_grid):
    """For each window offset (row-major), the index that picks what every output position sees there."""
    offsets = [()]
    for k in window:
        offsets = [o + (i,) for o in offsets for i in range(k)]
    return [(slice(None), slice(None)) + tuple(slice(o, o + stride * (n - 1) + 1, stride)
                                               for o, n in zip(offset, out_grid))
            for offset in offsets]


class LocalUnshared(torch.autograd.Function):
    """A locally connected layer: every output position has its own weights over its window.

    ``x``: ``[batch, in_channels, *grid]``, already padded. ``weight``: one slice per window offset
    (offsets in row-major order), ``[window_size, out_channels, *out_grid, in_channels]``.
    Returns ``[batch, out_channels, *out_grid]``.

    For each window offset, the strided slice of ``x`` that every position sees at that offset is
    multiplied by that offset's per-position weights and accumulated in place: ``window_size``
    elementwise products over the output grid, so work and parameters grow with positions x
    window, never with a dense matrix of all source-target pairs. The backward pass is written out
    (rather than recorded op by op) so that it too accumulates in place instead of allocating a
    full-size gradient per window offset.
    """

    @staticmethod
    def forward(ctx, x, weight, window, stride):
        ctx.save_for_backward(x, weight)
        ctx.window, ctx.stride = window, stride
        out = None
        for index, w in zip(window_slices(window, stride, weight.shape[2:-1]), weight.unbind(0)):
            patch = x[index]
            for c in range(x.shape[1]):
                # [batch, 1, *grid] * [out, *grid] -> [batch, out, *grid]: one product per offset and channel,
                # far faster than a batched matrix product of tiny matrices per position
                if out is None:
                    out = patch[:, c:c + 1] * w[..., c]
                else:
                    out.addcmul_(patch[:, c:c + 1], w[..., c])
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        need_x, need_weight = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_x = torch.zeros_like(x) if need_x else None
        grad_weight = torch.empty_like(weight) if need_weight else None
        single_out = weight.shape[1] == 1
        slices = window_slices(ctx.window, ctx.stride, weight.shape[2:-1])
        for k, (index, w) in enumerate(zip(slices, weight.unbind(0))):
            patch = x[index]
            for c in range(x.shape[1]):
                if need_weight:
                    grad_weight[k, ..., c] = (grad * patch[:, c:c + 1]).sum(0)
                if need_x:
                    if single_out:
                        grad_x[index][:, c:c + 1].addcmul_(grad, w[..., c])
                    else:
                        grad_x[index][:, c] += (grad * w[..., c]).sum(1)
        return grad_x, grad_weight, None, None


def local_unshared(x, weight, window, stride):
    """``[batch, in_channels, *grid]`` (padded) -> ``[batch, out_channels, *out_grid]``; see :class:`LocalUnshared`."""
    return LocalUnshared.apply(x, weight, window, stride)


def shared_as_local(weight, out_grid):
    """A convolution kernel ``[out, in, *window]`` repeated at every position of ``out_grid``.

    Gives the per-offset layout :func:`local_unshared` takes, as an expanded view; used when single
    links of a shared connection are switched off, so that only those links (one position each) drop out.
    """
    out_channels, in_channels = weight.shape[0], weight.shape[1]
    per_offset = weight.flatten(2).permute(2, 0, 1)  # [window_size, out, in]
    shape = (per_offset.shape[0], out_channels) + (1,) * len(out_grid) + (in_channels,)
    return per_offset.reshape(shape).expand((-1, -1) + tuple(out_grid) + (-1,))


def local_weight_from_file(tensor, window_size, shape):
    """Unshared local weights from the file's per-neuron layout to the per-offset layout computed with."""
    return tensor.reshape(-1, window_size).t().reshape(shape)


def local_weight_to_file(tensor, window_size, shape):
    """Unshared local weights from the per-offset layout to the file's per-neuron layout."""
    return tensor.reshape(window_size, -1).t().reshape(shape)


def disabled_mask(shape, zeros):
    """Ones of ``shape`` with zeros at the flat indices ``zeros``: multiplied into a weight, those links stay off."""
    mask = torch.ones(shape)
    mask.view(-1)[torch.tensor(zeros, dtype=torch.long)] = 0.0
    return mask
