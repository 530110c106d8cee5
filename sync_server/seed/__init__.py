"""Deterministic, realistic demo data for GridSweep (`gridsweep seed-demo`).

`demo.seed_demo` is the entry point; `names` holds the Chinese vocabularies, `places` lays out
buildings and houses, `people` composes households with valid identity data.
"""
