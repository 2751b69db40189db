"""Poisson noise image of a torch-engine result.

``generator="legacy"`` (the default) is the legacy program's generator and
seeding, computed by the C library (:func:`nanobrag.outputs.noise_image`), so
the image equals the legacy one for the same seed.  ``generator="torch"``
draws with ``torch.poisson`` on the result's device (fast, reproducible for a
seed and device, but not the legacy sequence).  Both follow the legacy
layout: value = Poisson(float pixel) + adc offset, clipped at 65535,
truncated to uint16, 0 outside the ROI.  With a detector response
(``config.response.active()``) the legacy generator's image goes through it
(:func:`nanobrag.outputs.noise_image`); for torch generators use
:func:`nanobrag.detector_response.detector_response_of`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ..config import ConfigError
from ..masks import roi_mask
from ..seeds import noise_seed

__all__ = ["noise_image"]

_UINT16_MAX = 65535.0


def noise_image(result, seed: Optional[int] = None, generator: str = "legacy") -> np.ndarray:
    """uint16 noise image (slow, fast); seed: None = ``config.output.noise_seed``, then the clock."""
    if generator == "legacy":
        from ..outputs import noise_image as legacy_noise

        return legacy_noise(result.float_image, result.config, seed=seed)
    if generator != "torch":
        raise ConfigError(f"noise generator must be 'legacy' or 'torch', got {generator!r}")
    seed = noise_seed(result.config.output, seed)
    image = result.image if result.image is not None else torch.as_tensor(result.float_image)
    image = image.detach().to(torch.float32)  # the legacy draws from the float image
    gen = torch.Generator(device=image.device)
    gen.manual_seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)
    counts = torch.poisson(torch.clamp(image, min=0).to(torch.float64), generator=gen)
    adc = float(result.config.output.adc_offset)
    value = torch.clamp(counts + adc, max=_UINT16_MAX)
    out = torch.trunc(value).to(torch.int32).cpu().numpy().astype(np.uint16)
    out[~roi_mask(out.shape, result.geometry.roi)] = 0
    return out
