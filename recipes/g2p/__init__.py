"""Measurements of the offline G2P (fsttopo.data.g2p)."""
