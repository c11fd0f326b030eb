"""A catalogue of bad and unsupported ONNX files: each refused by ``nn-designer import`` with exit status 2, a
message naming the node (or the file's problem) and what it would need, no traceback, and nothing written."""
from __future__ import annotations

import os
import pickle
import shutil

import numpy as np
import pytest
from designer.importing import ModelImportError, import_onnx

from .helpers import EXAMPLES, initializer, make_model, nnd, rng_array, save, tensor_info, user_error

onnx = pytest.importorskip("onnx")
helper = onnx.helper
TensorProto = onnx.TensorProto


def _dense(x="x", out="y", units=(4, 3), name="fc", activation=None):
    """Gemm (+ activation) nodes and weights: a [batch, units[0]] -> [batch, units[1]] layer."""
    w = initializer(f"{name}.weight", rng_array(units[1], units[0]))
    b = initializer(f"{name}.bias", rng_array(units[1], seed=1))
    gemm_out = out if activation is None else f"{name}_sum"
    nodes = [helper.make_node("Gemm", [x, w.name, b.name], [gemm_out], name=name, transB=1)]
    if activation:
        nodes.append(helper.make_node(activation, [gemm_out], [out], name=f"{name}_act"))
    return nodes, [w, b]


def _mlp_model():
    nodes, weights = _dense(activation="Relu", out="h")
    more, more_weights = _dense("h", "y", (3, 2), "out")
    return make_model(nodes + more, [tensor_info("x", ["batch", 4])], [tensor_info("y", ["batch", 2])],
                      weights + more_weights)


def _conv_model(name="conv", image=(1, 8, 8), out_channels=4, kernel=3, **attrs):
    c = image[0]
    w = initializer("conv.weight", rng_array(out_channels, c // attrs.get("group", 1), kernel, kernel))
    node = helper.make_node("Conv", ["x", "conv.weight"], ["c"], name=name, kernel_shape=[kernel, kernel], **attrs)
    flat = helper.make_node("Flatten", ["c"], ["y"], name="flatten")
    return make_model([node, flat], [tensor_info("x", ["batch", *image])], [tensor_info("y", ["batch", None])], [w])


def _recurrent_model(op, name, hidden=4, output="y_h", **attrs):
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    directions = 2 if attrs.get("direction") == "bidirectional" else 1
    w = initializer("W", rng_array(directions, gates * hidden, 1))
    r = initializer("R", rng_array(directions, gates * hidden, hidden, seed=1))
    b = initializer("B", rng_array(directions, 2 * gates * hidden, seed=2))
    transpose = helper.make_node("Transpose", ["x"], ["xt"], name="time_first", perm=[1, 0, 2])
    outputs = ["all", "last"] + (["cell"] if op == "LSTM" else [])
    node = helper.make_node(op, ["xt", "W", "R", "B"], outputs, name=name, hidden_size=hidden, **attrs)
    if output == "y_h":
        tail = [helper.make_node("Squeeze", ["last", "zero"], ["y"], name="squeeze")]
    else:  # every step: [time, 1, batch, hidden] -> [batch, time, hidden]
        tail = [helper.make_node("Squeeze", ["all", "one"], ["s"], name="squeeze"),
                helper.make_node("Transpose", ["s"], ["y"], name="batch_first", perm=[1, 0, 2])]
    inits = [w, r, b, initializer("zero", np.array([0], np.int64)), initializer("one", np.array([1], np.int64))]
    shape = ["batch", hidden] if output == "y_h" else ["batch", 10, hidden]
    return make_model([transpose, node, *tail], [tensor_info("x", ["batch", 10, 1])], [tensor_info("y", shape)],
                      inits)


# ---------------------------------------------------------------------- the catalogue
def truncated(tmp_path):
    data = _mlp_model().SerializeToString()
    path = tmp_path / "model.onnx"
    path.write_bytes(data[: len(data) * 2 // 3])
    return path, ["truncated"]


def a_pytorch_checkpoint(tmp_path):  # a ZIP archive: what torch.save writes, or an .nnd project
    path = tmp_path / "model.onnx"
    shutil.copy(EXAMPLES / "xor.nnd", path)
    return path, ["ZIP archive", "torch.onnx.export"]


def a_pickle(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(pickle.dumps({"state_dict": [1.0, 2.0]}, protocol=4))
    return path, ["pickled", "never unpickles"]


def not_protobuf(tmp_path):  # a picture's magic number
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(200)))
    return path, ["not an ONNX model"]


def empty_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"")
    return path, ["empty"]


def empty_graph(tmp_path):
    model = make_model([], [tensor_info("x", ["batch", 4])], [tensor_info("x", ["batch", 4])])
    return save(model, tmp_path / "model.onnx"), ["graph is empty"]


def unsupported_op(tmp_path):
    nodes, weights = _dense(out="h")
    nodes.append(helper.make_node("Cos", ["h"], ["y"], name="cosine"))
    model = make_model(nodes, [tensor_info("x", ["batch", 4])], [tensor_info("y", ["batch", 3])], weights)
    return save(model, tmp_path / "model.onnx"), ["Cos node 'cosine'", "no counterpart"]


def grouped_convolution(tmp_path):
    return save(_conv_model("grouped", image=(2, 8, 8), group=2), tmp_path / "model.onnx"), \
        ["Conv node 'grouped'", "groups=2", "groups=1"]


def dilated_convolution(tmp_path):
    return save(_conv_model("dilated", dilations=[2, 2]), tmp_path / "model.onnx"), \
        ["Conv node 'dilated'", "dilations [2, 2]"]


def padding_that_is_not_same(tmp_path):
    return save(_conv_model("strided", pads=[1, 1, 1, 1], strides=[2, 2]), tmp_path / "model.onnx"), \
        ["Conv node 'strided'", "pads [1, 1] before and [1, 1] after", "'same' ([0, 0] before and [1, 1] after"]


def dynamic_features(tmp_path):
    nodes, weights = _dense()
    model = make_model(nodes, [tensor_info("x", ["batch", "features"])], [tensor_info("y", ["batch", 3])], weights)
    return save(model, tmp_path / "model.onnx"), ["dynamic size on axis 1", "(features)", "fixed sizes"]


def _external(tmp_path, location):
    model = _mlp_model()
    weight = model.graph.initializer[0]
    raw = weight.raw_data
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(raw)))):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    folder = tmp_path / "model"
    folder.mkdir()
    return folder, raw, model


def external_data_outside_the_folder(tmp_path):
    folder, raw, model = _external(tmp_path, "../weights.bin")
    (tmp_path / "weights.bin").write_bytes(raw)  # there, but outside: never read
    return save(model, folder / "model.onnx"), ["initializer 'fc.weight'", "outside the model's folder"]


def external_data_at_an_absolute_path(tmp_path):
    folder, raw, model = _external(tmp_path, str(tmp_path / "weights.bin"))
    (tmp_path / "weights.bin").write_bytes(raw)
    return save(model, folder / "model.onnx"), ["initializer 'fc.weight'", "an absolute path"]


def external_data_through_a_link(tmp_path):
    folder, raw, model = _external(tmp_path, "weights.bin")
    (tmp_path / "secret.bin").write_bytes(raw)
    os.symlink(tmp_path / "secret.bin", folder / "weights.bin")
    return save(model, folder / "model.onnx"), ["initializer 'fc.weight'", "symbolic link"]


def external_data_that_is_missing(tmp_path):
    folder, raw, model = _external(tmp_path, "weights.bin")
    return save(model, folder / "model.onnx"), ["'weights.bin'", "not beside the model"]


def huge_declared_input(tmp_path):
    nodes, weights = _dense()
    model = make_model(nodes, [tensor_info("x", ["batch", 20_000_000_000])], [tensor_info("y", ["batch", 3])],
                       weights)
    return save(model, tmp_path / "model.onnx"), ["20,000,000,000", "10,000,000 neurons"]


def huge_declared_weight(tmp_path):  # declared only: refused before anything of that size is read or allocated
    model = _mlp_model()
    weight = model.graph.initializer[0]
    del weight.dims[:]
    weight.dims.extend([300_000, 300_000])
    return save(model, tmp_path / "model.onnx"), ["initializer 'fc.weight'", "90,000,000,000 values"]


def opset_too_new(tmp_path):
    model = _mlp_model()
    model.opset_import[0].version = 30
    return save(model, tmp_path / "model.onnx"), ["opset 30", "newer", "13 to 23", "opset_version"]


def two_inputs(tmp_path):
    nodes, weights = _dense()
    model = make_model(nodes, [tensor_info("x", ["batch", 4]), tensor_info("mask", ["batch", 4])],
                       [tensor_info("y", ["batch", 3])], weights)
    return save(model, tmp_path / "model.onnx"), ["2 inputs", "'x', 'mask'", "one input layer"]


def no_output(tmp_path):
    nodes, weights = _dense()
    model = make_model(nodes, [tensor_info("x", ["batch", 4])], [], weights)
    return save(model, tmp_path / "model.onnx"), ["no output"]


def a_reshape_that_permutes(tmp_path):  # channels last: the values move
    transpose = helper.make_node("Transpose", ["x"], ["xt"], name="channels_last", perm=[0, 2, 3, 1])
    flat = helper.make_node("Flatten", ["xt"], ["f"], name="flatten")
    nodes, weights = _dense("f", "y", (48, 3))
    model = make_model([transpose, flat, *nodes], [tensor_info("x", ["batch", 3, 4, 4])],
                       [tensor_info("y", ["batch", 3])], weights)
    return save(model, tmp_path / "model.onnx"), ["Transpose node 'channels_last'", "permutes"]


def a_bidirectional_lstm(tmp_path):
    return save(_recurrent_model("LSTM", "bi", direction="bidirectional"), tmp_path / "model.onnx"), \
        ["LSTM node 'bi'", "bidirectional", "forward in time only"]


def a_gru_that_resets_first(tmp_path):
    return save(_recurrent_model("GRU", "reset_first", linear_before_reset=0), tmp_path / "model.onnx"), \
        ["GRU node 'reset_first'", "linear_before_reset=0"]


def a_sequence_output(tmp_path):
    return save(_recurrent_model("RNN", "elman", output="all"), tmp_path / "model.onnx"), \
        ["every time step", "y[:, -1]"]


def max_pool_rounding_up(tmp_path):
    pool = helper.make_node("MaxPool", ["x"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    flat = helper.make_node("Flatten", ["p"], ["y"], name="flatten")
    model = make_model([pool, flat], [tensor_info("x", ["batch", 1, 7, 7])], [tensor_info("y", ["batch", 16])])
    return save(model, tmp_path / "model.onnx"), ["MaxPool node 'pool'", "ceil_mode=1", "[4, 4] instead of [3, 3]"]


def mean_pool_without_the_padding(tmp_path):
    pool = helper.make_node("AveragePool", ["x"], ["p"], name="avg", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                            count_include_pad=0)
    flat = helper.make_node("Flatten", ["p"], ["y"], name="flatten")
    model = make_model([pool, flat], [tensor_info("x", ["batch", 1, 6, 6])], [tensor_info("y", ["batch", 36])])
    return save(model, tmp_path / "model.onnx"), ["AveragePool node 'avg'", "count_include_pad=0"]


def batch_norm_with_another_epsilon(tmp_path):
    nodes, weights = _dense(out="h")
    stats = [initializer(n, v) for n, v in (("s", np.ones(3)), ("b", np.zeros(3)), ("m", np.zeros(3)),
                                            ("v", np.ones(3)))]
    nodes.append(helper.make_node("BatchNormalization", ["h", "s", "b", "m", "v"], ["y"], name="bn", epsilon=1e-3))
    model = make_model(nodes, [tensor_info("x", ["batch", 4])], [tensor_info("y", ["batch", 3])], weights + stats)
    return save(model, tmp_path / "model.onnx"), ["BatchNormalization node 'bn'", "epsilon 0.001", "1e-5"]


def an_operator_of_another_domain(tmp_path):
    nodes, weights = _dense(out="h")
    nodes.append(helper.make_node("FastGelu", ["h"], ["y"], name="fused", domain="com.microsoft"))
    model = make_model(nodes, [tensor_info("x", ["batch", 4])], [tensor_info("y", ["batch", 3])], weights)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return save(model, tmp_path / "model.onnx"), ["FastGelu node 'fused'", "'com.microsoft'"]


def a_residual_of_activated_values(tmp_path):
    first, w1 = _dense(out="a", units=(4, 4), name="first", activation="Relu")
    second, w2 = _dense("a", "b", (4, 4), "second", activation="Relu")
    add = helper.make_node("Add", ["a", "b"], ["y"], name="residual")
    model = make_model(first + second + [add], [tensor_info("x", ["batch", 4])], [tensor_info("y", ["batch", 4])],
                       w1 + w2)
    return save(model, tmp_path / "model.onnx"), ["Add node 'residual'", "after its activation (relu)", "residual"]


def a_concatenation(tmp_path):
    first, w1 = _dense(out="a", units=(4, 3), name="first", activation="Tanh")
    cat = helper.make_node("Concat", ["x", "a"], ["c"], name="join", axis=1)
    second, w2 = _dense("c", "y", (7, 2), "second")
    model = make_model(first + [cat] + second, [tensor_info("x", ["batch", 4])], [tensor_info("y", ["batch", 2])],
                       w1 + w2)
    return save(model, tmp_path / "model.onnx"), ["Concat node 'join'", "no concatenation"]


def a_loop(tmp_path):
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])],
        "body", [tensor_info("i", [], TensorProto.INT64), tensor_info("cond_in", [], TensorProto.BOOL),
                 tensor_info("v_in", None)],
        [tensor_info("cond_out", [], TensorProto.BOOL), tensor_info("v_out", None)])
    nodes, weights = _dense(out="h")
    nodes.append(helper.make_node("Loop", ["trip", "cond", "h"], ["y"], name="steps", body=body))
    inits = [initializer("trip", np.array(3, np.int64)), initializer("cond", np.array(True))]
    model = make_model(nodes, [tensor_info("x", ["batch", 4])], [tensor_info("y", ["batch", 3])], weights + inits)
    return save(model, tmp_path / "model.onnx"), ["Loop node 'steps'", "loop"]


def token_ids(tmp_path):
    gather = helper.make_node("Gather", ["table", "x"], ["y"], name="embedding")
    model = make_model([gather], [tensor_info("x", ["batch", 5], TensorProto.INT64)],
                       [tensor_info("y", ["batch", 5, 3])], [initializer("table", rng_array(10, 3))])
    return save(model, tmp_path / "model.onnx"), ["INT64", "token ids"]


def weights_with_nan(tmp_path):
    model = _mlp_model()
    weight = model.graph.initializer[0]
    values = onnx.numpy_helper.to_array(weight).copy()
    values[0, 0] = np.nan
    weight.CopyFrom(onnx.numpy_helper.from_array(values, weight.name))
    return save(model, tmp_path / "model.onnx"), ["NaN or infinite", ".weight"]


def two_unsupported_nodes(tmp_path):  # one line each
    nodes, weights = _dense(out="h")
    nodes += [helper.make_node("Sin", ["h"], ["s"], name="sine"), helper.make_node("Cos", ["h"], ["c"], name="cosine"),
              helper.make_node("Add", ["s", "c"], ["y"], name="both")]
    model = make_model(nodes, [tensor_info("x", ["batch", 4])], [tensor_info("y", ["batch", 3])], weights)
    return save(model, tmp_path / "model.onnx"), ["2 nodes cannot become part of a design", "Sin node 'sine'",
                                                  "Cos node 'cosine'"]


CATALOGUE = [truncated, a_pytorch_checkpoint, a_pickle, not_protobuf, empty_file, empty_graph, unsupported_op,
             grouped_convolution, dilated_convolution, padding_that_is_not_same, dynamic_features,
             external_data_outside_the_folder, external_data_at_an_absolute_path, external_data_through_a_link,
             external_data_that_is_missing, huge_declared_input, huge_declared_weight, opset_too_new, two_inputs,
             no_output, a_reshape_that_permutes, a_bidirectional_lstm, a_gru_that_resets_first, a_sequence_output,
             max_pool_rounding_up, mean_pool_without_the_padding, batch_norm_with_another_epsilon,
             an_operator_of_another_domain, a_residual_of_activated_values, a_concatenation, a_loop, token_ids,
             weights_with_nan, two_unsupported_nodes]


def test_the_catalogue_is_long_enough():
    assert len(CATALOGUE) >= 15


@pytest.mark.parametrize("make", CATALOGUE, ids=lambda f: f.__name__)
def test_a_bad_or_unsupported_model_is_refused_and_nothing_written(tmp_path, make):
    path, words = make(tmp_path)
    out = tmp_path / "design.nnd"
    result = nnd("import", path, "-o", out)
    user_error(result, path.name, *words)
    assert not out.exists()
    assert not list(tmp_path.glob(".design.nnd*"))  # no temporary left behind either
    with pytest.raises(ModelImportError) as refused:
        import_onnx(path)
    assert all(line and "\n" not in line for line in refused.value.lines)


def test_one_line_per_unsupported_node_and_nothing_after_them_reported(tmp_path):
    path, _ = two_unsupported_nodes(tmp_path)
    with pytest.raises(ModelImportError) as refused:
        import_onnx(path)
    assert len(refused.value.lines) == 2  # the Add after them is not reported: it only uses what was refused
    assert refused.value.lines[0].startswith("Sin node 'sine': ")


def test_an_existing_design_is_left_as_it_was_when_the_import_is_refused(tmp_path):
    path, _ = unsupported_op(tmp_path)
    out = tmp_path / "design.nnd"
    shutil.copy(EXAMPLES / "xor.nnd", out)
    before = out.read_bytes()
    user_error(nnd("import", path, "-o", out), "Cos node 'cosine'")
    assert out.read_bytes() == before


def test_the_command_checks_its_arguments_before_reading(tmp_path):
    model = save(_mlp_model(), tmp_path / "model.onnx")
    user_error(nnd("import", model, "-o", tmp_path), "that is a folder")
    user_error(nnd("import", model, "-o", tmp_path / "missing" / "d.nnd"), "does not exist")
    user_error(nnd("import", model, "-o", EXAMPLES / "xor.nnd"), "examples", "stays as shipped")
    user_error(nnd("import", tmp_path / "nothing.onnx", "-o", tmp_path / "d.nnd"), "nothing.onnx", "no such file")
    user_error(nnd("import", model), "-o")


def test_external_data_inside_the_folder_is_read(tmp_path):
    folder, raw, model = _external(tmp_path, "weights/fc.bin")
    (folder / "weights").mkdir()
    (folder / "weights" / "fc.bin").write_bytes(raw)
    project = import_onnx(save(model, folder / "model.onnx"))
    expected = np.frombuffer(raw, dtype=np.float32).reshape(3, 4)
    into = next(c for c in project.graph.connections.values() if c.source == "x")
    np.testing.assert_array_equal(project.weights[f"{into.id}.weight"], expected)
