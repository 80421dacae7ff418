"""Embedders: poses in, fixed-size float32 vectors out."""
