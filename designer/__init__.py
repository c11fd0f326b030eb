"""NN Designer: draw a neural network, compile it to PyTorch, train it and watch it learn."""

__version__ = "0.1.0"
