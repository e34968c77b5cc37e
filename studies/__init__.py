"""Study sets: manifests, normalisation and blinding, per-reader plans, and reader-study statistics.

Pure Python (numpy, nibabel, scipy, pandas); never imports torch or Django.
"""
