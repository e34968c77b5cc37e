"""Gaussian diffusion: cosine schedule, x0-prediction denoiser and loss, DDIM sampler, guidance, fixed channels."""
