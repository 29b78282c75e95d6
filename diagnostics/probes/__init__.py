"""One module per probe; each exposes `probe(smoke: bool) -> dict` and runs inside `python -m diagnostics.probe`."""
