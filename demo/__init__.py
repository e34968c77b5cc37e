"""`python -m demo`: the end-to-end demo study (see __main__.py)."""
