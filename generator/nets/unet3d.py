"""The base model: a 3D UNet of pure convolutions with all attention at the bottom (paper IV-E).

Encoder and decoder are residual convolution blocks conditioned on the diffusion time; at the bottom, where the
grid is smallest (8³ for a 64³ input with four levels), `depth` rounds of self-attention, cross-attention to the
report's token features and a feed-forward layer mix the whole volume and the text. Down-sampling is isotropic
(the authors' code halves only in-plane): for isotropic 64³ inputs it gives 8× fewer bottom tokens (512 instead of
4096), so the bottom attention costs 64× less, and the network sees all three axes at the same scale.
"""

from __future__ import annotations

import torch
from torch import nn

from generator.nets.blocks import Attention, Downsample, FeedForward, ResBlock, TimeEmbedding, Upsample, group_norm


class UNet3d(nn.Module):
    """Convolutional encoder-decoder with skip connections around a pluggable bottom `middle` module.

    `middle(h, emb, **cond)` receives the bottom features (B, C, x, y, z) and the time embedding (B, E).
    `in_plane` down-samples x and y only, as the authors' code does; z then keeps its full size down to the bottom.
    `time_features` sinusoidal features embed the time (default: `width`, as before the option existed).
    """

    def __init__(
        self,
        channels_in: int,
        channels_out: int,
        width: int,
        mults: tuple[int, ...],
        res_blocks: int,
        middle: nn.Module,
        in_plane: bool = False,
        time_features: int | None = None,
    ):
        super().__init__()
        emb_dim = 4 * width
        self.time = TimeEmbedding(time_features or width, emb_dim)
        self.stem = nn.Conv3d(channels_in, width, 3, padding=1)
        self.down, skips, ch = nn.ModuleList(), [width], width
        for level, mult in enumerate(mults):
            for _ in range(res_blocks):
                self.down.append(ResBlock(ch, width * mult, emb_dim))
                ch = width * mult
                skips.append(ch)
            if level < len(mults) - 1:
                self.down.append(Downsample(ch, in_plane))
                skips.append(ch)
        self.middle = middle
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(mults))):
            for _ in range(res_blocks + 1):
                self.up.append(ResBlock(ch + skips.pop(), width * mult, emb_dim))
                ch = width * mult
            if level > 0:
                self.up.append(Upsample(ch, in_plane))
        self.head = nn.Sequential(group_norm(ch), nn.SiLU(), nn.Conv3d(ch, channels_out, 3, padding=1))
        self.factors = (2 ** (len(mults) - 1),) * 2 + (1 if in_plane else 2 ** (len(mults) - 1),)

    def run(self, x: torch.Tensor, emb: torch.Tensor, **cond) -> torch.Tensor:
        """Encoder, bottom, decoder: (B, C_in, X, Y, Z) -> (B, C_out, X, Y, Z); sizes divisible by `factors`."""
        if any(s % f for s, f in zip(x.shape[2:], self.factors)):
            raise ValueError(f"spatial sizes must be divisible by {self.factors}, got {tuple(x.shape[2:])}")
        h = self.stem(x)
        skips = [h]
        for block in self.down:
            h = block(h, emb) if isinstance(block, ResBlock) else block(h)
            skips.append(h)
        h = self.middle(h, emb, **cond)
        for block in self.up:
            h = block(torch.cat([h, skips.pop()], 1), emb) if isinstance(block, ResBlock) else block(h)
        return self.head(h)


class TextBottom(nn.Module):
    """Bottom of the base UNet: ResBlock, `depth` × (self-attention, cross-attention to text, MLP), ResBlock."""

    def __init__(self, channels: int, emb_dim: int, heads: int, depth: int, text_dim: int):
        super().__init__()
        self.res_in = ResBlock(channels, channels, emb_dim)
        self.layers = nn.ModuleList(
            nn.ModuleList([Attention(channels, heads), Attention(channels, heads, text_dim), FeedForward(channels)])
            for _ in range(depth)
        )
        self.res_out = ResBlock(channels, channels, emb_dim)

    def forward(self, h: torch.Tensor, emb: torch.Tensor, context: torch.Tensor, context_mask: torch.Tensor):
        h = self.res_in(h, emb)
        shape = h.shape
        tokens = h.flatten(2).transpose(1, 2)  # (B, x·y·z, C)
        for self_attention, cross_attention, feed_forward in self.layers:
            tokens = self_attention(tokens)
            tokens = cross_attention(tokens, context, context_mask)
            tokens = feed_forward(tokens)
        h = tokens.transpose(1, 2).reshape(shape)
        return self.res_out(h, emb)


class BaseUNet(nn.Module):
    """Text-conditioned network over the low-resolution 4-channel volume (CT, lobes, airway, vessels); its raw output
    is x0 or v as `config.prediction` says (`generator.diffusion.denoiser.Denoiser` turns it into x0).

    With `config.pooled_text` the mean of the report's token features is projected into the time embedding, as
    Imagen does (Saharia et al. 2022, appendix), so every ResBlock at every resolution sees the report; the bottom's
    cross-attention alone reaches the network only through an 8³ grid."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        bottom = config.width * config.mults[-1]
        middle = TextBottom(bottom, 4 * config.width, config.heads, config.depth, config.text_dim)
        self.unet = UNet3d(
            config.channels,
            config.channels,
            config.width,
            tuple(config.mults),
            config.res_blocks,
            middle,
            config.in_plane,
            config.time_features,
        )
        self.pool = (
            nn.Sequential(nn.LayerNorm(config.text_dim), nn.Linear(config.text_dim, 4 * config.width))
            if config.pooled_text
            else None
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor, context_mask: torch.Tensor):
        """x (B, 4, X, Y, Z), t (B,), report tokens (B, L, D) with mask (B, L) True where a token is real."""
        # A report with no real token (the empty, unconditional report) attends to every padded token instead.
        mask = context_mask | ~context_mask.any(dim=1, keepdim=True)
        emb = self.unet.time(t)
        if self.pool is not None:
            weights = mask.to(context.dtype)[..., None]
            pooled = (context * weights).sum(1) / weights.sum(1)
            emb = emb + self.pool(pooled.to(emb.dtype))
        return self.unet.run(x, emb, context=context, context_mask=mask)
