"""Retrieval evaluation: subsets, exact in-memory search, metrics with chance levels, confusions, the ASL Citizen
dictionary protocol, text-video retrieval, one grid cell (`cell` lists its files), the grid and its figures."""
