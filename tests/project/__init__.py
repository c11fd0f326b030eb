"""Tests of .nnd reading and writing."""
