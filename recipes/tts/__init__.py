"""Synthetic speech corpus with exact reference alignments (see README.md)."""
