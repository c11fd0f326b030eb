"""Training in the window: the controller (actions, worker thread, docks), the live loss plot and views.

``TrainingController(window)`` is created by the main window; the rest are its parts.
"""
from .controller import TrainingController

__all__ = ["TrainingController"]
