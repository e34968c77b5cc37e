"""MedSyn's generation backend: phantoms and data, report encoder, hierarchical 3D diffusion, evaluation.

PyTorch; never imports Django.
"""
