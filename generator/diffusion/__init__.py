"""Gaussian diffusion: cosine schedule, x0 estimates of x0- or v-predicting networks and their loss, DDIM sampler,
guidance, fixed channels."""
