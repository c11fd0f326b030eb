"""QApplication start-up (being built)."""
