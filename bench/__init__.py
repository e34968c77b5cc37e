"""Benchmarks that print tables of ratios against a baseline measured in the same run; not part of `make test`.

`python -m bench` lists them; `python -m bench NAME [options]` runs one (see bench/__main__.py).
"""
