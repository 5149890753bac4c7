"""Synthetic Italian and Russian corpora (MFA layout) with exact reference timings."""
