"""Retrieval evaluation: subsets, exact in-memory search, metrics with chance levels, confusions, the ASL Citizen
dictionary protocol, text-video retrieval, figures, and one grid cell / the grid (`grid` lists the output files)."""
