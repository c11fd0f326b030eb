"""Regression corpus: one small file per crash kind the fuzzer found (rebuilt by make_corpus.py)."""
