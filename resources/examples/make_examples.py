"""Write the example projects shipped with NN Designer (``*.nnd`` beside this script).

Run it after changing an example: ``.venv/bin/python resources/examples/make_examples.py``;
``make_examples.py --measure`` trains each one with ``nn-designer train`` and prints README.md's table.
Each example is laid out left to right, one column of layers every 220 px, so it reads on the
canvas as it flows; each states the target it reaches (see README.md beside this script, and
tests/test_cli.py, which trains every one of them to its target).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from designer.graph import Connectivity, Graph, Layer
from designer.project import Project, write_project

HERE = Path(__file__).resolve().parent
STEP = 220  # px between columns of layers


@dataclass(frozen=True)
class Target:
    """What ``nn-designer train`` must reach on the example: ``metric`` compared with ``value``."""

    metric: str  # "val_accuracy" (at least value) or "val_loss" (at most value)
    value: float

    def met(self, run: dict) -> bool:
        last = run[self.metric][-1]
        return last >= self.value if self.metric == "val_accuracy" else last <= self.value

    def __str__(self) -> str:
        return (f"validation accuracy >= {self.value:g}" if self.metric == "val_accuracy"
                else f"validation MSE <= {self.value:g}")


def _training(**changes) -> dict:
    block = {"loss": "auto", "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.0, "batch_size": 16,
             "epochs": 200, "l1": 0.0, "l2": 0.0, "seed": 0, "device": "auto"}
    block.update(changes)
    return block


def _builtin(name: str, samples: int, noise: float, validation_split: float = 0.2) -> dict:
    return {"kind": "builtin", "name": name, "samples": samples, "noise": noise,
            "validation_split": validation_split, "seed": 1}


def _example(name: str, description: str, layers: list[Layer], dataset: dict, training: dict,
             local: dict[str, Connectivity] | None = None, loops: tuple[str, ...] = ()) -> Project:
    """A project whose layers stand in a row, left to right, each connected to the next.

    Connections are named ``source-target`` and dense unless ``local`` gives the connectivity into
    a layer; a layer named in ``loops`` also feeds itself (its self-loop follows the connection into it).
    """
    graph = Graph()
    for i, layer in enumerate(layers):
        layer.position = (float(i * STEP), 0.0)
        graph.add_layer(layer)
    for source, target in zip(layers, layers[1:]):
        graph.connect(source.id, target.id, (local or {}).get(target.id), connection_id=f"{source.id}-{target.id}")
        if target.id in loops:
            graph.connect(target.id, target.id, connection_id=f"{target.id}-{target.id}")
    return Project(name=name, description=description, graph=graph, dataset=dataset, training=training)


def perceptron() -> Project:
    return _example(
        "Perceptron",
        "Rosenblatt's perceptron: one step neuron learns the AND gate. Its weighted sum of the two "
        "inputs plus its bias must be above 0 only when both inputs are 1.",
        [Layer("x", "input", (2,), label="inputs"), Layer("out", "neurons", (1,), activation="step", label="AND")],
        _builtin("gate_and", 64, 0.0, validation_split=0.25),
        _training(learning_rate=0.5, batch_size=4, epochs=30))


def xor() -> Project:
    return _example(
        "XOR",
        "Two inputs, one hidden layer of four tanh neurons: a single neuron cannot separate the "
        "quadrants, four hidden ones can.",
        [Layer("x", "input", (2,), label="inputs"), Layer("h", "neurons", (4,), activation="tanh"),
         Layer("out", "neurons", (1,), activation="sigmoid")],
        _builtin("xor", 400, 0.05),
        _training(learning_rate=0.02, momentum=0.9, batch_size=16, epochs=200))


def spiral() -> Project:
    return _example(
        "Spiral",
        "Two interleaved spiral arms: two hidden layers of sixteen tanh neurons bend the boundary "
        "around them. Press Train and watch the loss fall.",
        [Layer("x", "input", (2,), label="inputs"), Layer("h1", "neurons", (16,), activation="tanh"),
         Layer("h2", "neurons", (16,), activation="tanh"),
         Layer("out", "neurons", (1,), activation="sigmoid", label="arm")],
        _builtin("spiral", 400, 0.02),
        _training(optimizer="adam", learning_rate=0.02, batch_size=16, epochs=150))


def shapes_local() -> Project:
    return _example(
        "Shapes (local connections)",
        "Circles, squares, triangles and crosses on a 16x16 grid. Each neuron of the first layers "
        "sees only a 3x3 window, and shares its weights across the image (a convolution).",
        [Layer("image", "input", (16, 16), label="16x16 image"),
         Layer("edges", "neurons", (6, 14, 14), activation="relu", label="3x3 detectors"),
         Layer("parts", "neurons", (8, 6, 6), activation="relu", label="parts"),
         Layer("out", "neurons", (4,), activation="softmax", label="shape")],
        _builtin("shapes", 2000, 0.05),
        _training(optimizer="adam", learning_rate=0.01, batch_size=32, epochs=20),
        local={"edges": Connectivity("local", window=(3,), shared=True),
               "parts": Connectivity("local", window=(3,), stride=2, shared=True)})


def sine_recurrent() -> Project:
    return _example(
        "Sine (recurrent)",
        "Twenty steps of a sine wave go in one at a time; the loop on the hidden layer carries "
        "what it has seen to the next step, and the output predicts the value after the last one.",
        [Layer("x", "input", (1,), label="value"), Layer("h", "neurons", (16,), activation="tanh", label="memory"),
         Layer("out", "neurons", (1,), activation="linear", label="next value")],
        _builtin("sine", 500, 0.02),
        _training(optimizer="adam", learning_rate=0.01, batch_size=16, epochs=60),
        loops=("h",))


def lenet_shapes() -> Project:
    return _example(
        "LeNet (shapes)",
        "LeCun's LeNet in miniature: 5x5 convolutions and 2x2 max pooling, twice, then a dense layer "
        "with dropout. Pooling keeps each channel's strongest response in every 2x2 window, so the "
        "detectors' map shrinks by half and small shifts of the shape matter less.",
        [Layer("image", "input", (16, 16), label="16x16 image"),
         Layer("c1", "neurons", (6, 12, 12), activation="relu", label="5x5 detectors"),
         Layer("p1", "neurons", (6, 6, 6), activation="linear", bias=False, label="max pool"),
         Layer("c2", "neurons", (16, 4, 4), activation="relu", label="3x3 detectors"),
         Layer("p2", "neurons", (16, 2, 2), activation="linear", bias=False, label="max pool"),
         Layer("h", "neurons", (32,), activation="relu", dropout=0.3, label="dense, dropout 0.3"),
         Layer("out", "neurons", (4,), activation="softmax", label="shape")],
        _builtin("shapes", 2000, 0.05),
        _training(optimizer="adam", learning_rate=0.005, batch_size=32, epochs=15),
        local={"c1": Connectivity("local", window=(5,), shared=True),
               "p1": Connectivity("local", window=(2,), stride=2, pool="max"),
               "c2": Connectivity("local", window=(3,), shared=True),
               "p2": Connectivity("local", window=(2,), stride=2, pool="max")})


WEATHER_CSV = "weather.csv"
WEATHER_CLASSES = ("clear", "rain", "snow")


def weather_rows(count: int = 1500, seed: int = 7) -> list[list]:
    """Readings of six sensors in their own units (hectopascals beside metres beside percent) and the weather.

    ``snow`` below 0.5 degrees with humid air, ``rain`` above it with humid air and low pressure, else
    ``clear``; 3% of the labels are flipped, as a real log's would be.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    temperature = rng.normal(8.0, 9.0, count)
    pressure = rng.normal(1013.0, 9.0, count)
    humidity = rng.uniform(20.0, 100.0, count)
    wind = rng.exponential(4.0, count)
    altitude = rng.uniform(0.0, 2500.0, count)
    hour = rng.integers(0, 24, count)
    humid = humidity > 70.0
    label = np.where(humid & (temperature < 0.5), 2, np.where(humid & (pressure < 1013.0), 1, 0))
    flip = rng.random(count) < 0.03
    label = np.where(flip, rng.integers(0, 3, count), label)
    return [[round(float(t), 1), round(float(p), 1), round(float(h), 1), round(float(w), 2), round(float(a)),
             int(o), WEATHER_CLASSES[int(c)]]
            for t, p, h, w, a, o, c in zip(temperature, pressure, humidity, wind, altitude, hour, label)]


def write_weather(folder: Path) -> None:
    import csv

    with open(folder / WEATHER_CSV, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["temperature_c", "pressure_hpa", "humidity_pct", "wind_ms", "altitude_m", "hour",
                         "weather"])
        writer.writerows(weather_rows())


def mlp_batchnorm() -> Project:
    return _example(
        "Weather (MLP with batch normalisation)",
        "Six sensor readings, each in its own units and left unscaled (hectopascals around 1013 beside "
        "metres up to 2500 and percent), tell clear, rainy and snowy weather apart. Batch normalisation "
        "after each hidden layer's sums rescales them batch by batch, so the raw columns train in a few "
        "epochs; dropout keeps the second layer from leaning on single neurons.",
        [Layer("x", "input", (6,), label="6 sensors"),
         Layer("h1", "neurons", (32,), activation="relu", norm="batch", label="batch norm"),
         Layer("h2", "neurons", (16,), activation="relu", norm="batch", dropout=0.2, label="batch norm, dropout"),
         Layer("out", "neurons", (3,), activation="softmax", label="weather")],
        {"kind": "csv", "path": WEATHER_CSV, "target": "weather", "standardize": False, "validation_split": 0.2,
         "seed": 1},
        _training(optimizer="adamw", learning_rate=0.01, weight_decay=0.01, schedule="cosine", batch_size=32,
                  epochs=60))


#: file name -> (how to make it, the target `nn-designer train` reaches on it)
EXAMPLES = {
    "perceptron.nnd": (perceptron, Target("val_accuracy", 1.0)),
    "xor.nnd": (xor, Target("val_accuracy", 0.95)),
    "spiral.nnd": (spiral, Target("val_accuracy", 0.95)),
    "shapes-local.nnd": (shapes_local, Target("val_accuracy", 0.9)),
    "sine-recurrent.nnd": (sine_recurrent, Target("val_loss", 0.01)),
    "lenet-shapes.nnd": (lenet_shapes, Target("val_accuracy", 0.9)),
    "mlp-batchnorm.nnd": (mlp_batchnorm, Target("val_accuracy", 0.9)),
}
DEFAULT_EXAMPLE = HERE / "spiral.nnd"


def main(folder: Path = HERE) -> int:
    write_weather(folder)
    print(f"wrote {folder / WEATHER_CSV}")
    for name, (make, _target) in EXAMPLES.items():
        project = make()
        write_project(project, folder / name)
        print(f"wrote {folder / name}")
    return 0


def measure() -> int:
    """Train every shipped example with ``nn-designer train`` and print the README's table."""
    import subprocess
    import tempfile
    import time

    from designer.project import read_project

    command = Path(sys.executable).with_name("nn-designer")
    print("| example | design | data | target | reached | epochs | wall time |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    missed = 0
    with tempfile.TemporaryDirectory() as scratch:
        for name, (make, target) in EXAMPLES.items():
            out = Path(scratch) / name
            started = time.perf_counter()
            subprocess.run([str(command), "train", str(HERE / name), "--out", str(out)], check=True,
                           capture_output=True)
            seconds = time.perf_counter() - started
            project = read_project(out)
            run = project.history[-1]
            value = run[target.metric][-1]
            missed += not target.met(run)
            layers = " → ".join(f"{layer.id} {'x'.join(map(str, layer.shape))}"
                                for layer in project.graph.layers.values())
            data = project.dataset.get("name") or Path(project.dataset.get("path", "?")).name
            print(f"| `{name}` | {layers} | {data} | {target} | {value:.4g} "
                  f"{'✓' if target.met(run) else '✗'} | {len(run['epochs'])} | {seconds:.1f} s |")
    return 1 if missed else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--measure"]:
        sys.exit(measure())
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
