"""Which pixels the legacy loop renders: one home for the ROI and mask rule.

A pixel is rendered when it lies inside the inclusive region of interest
``roi = (fast_min, fast_max, slow_min, slow_max)`` and its mask value is not 0.
Pixels outside the ROI are 0 in every output image; masked pixels are 0 in the
float image.  Arrays are (slow, fast), as the images.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["roi_mask", "rendered_mask", "rendered_pixels"]


def roi_mask(shape: Tuple[int, int], roi: Optional[Sequence[int]]) -> np.ndarray:
    """Boolean (slow, fast): pixels inside the inclusive ``roi`` (None: every pixel).

    Parameters
    ----------
    shape : (int, int)
        (slow, fast) pixel counts.
    roi : sequence of 4 int, optional
        fast_min, fast_max, slow_min, slow_max (inclusive pixel indices).
    """
    slow, fast = (int(n) for n in shape)
    if roi is None:
        return np.ones((slow, fast), dtype=bool)
    fmin, fmax, smin, smax = (int(v) for v in roi)
    s = np.arange(slow)
    f = np.arange(fast)
    return ((s >= smin) & (s <= smax))[:, None] & ((f >= fmin) & (f <= fmax))[None, :]


def _as_numpy(mask: Any) -> np.ndarray:
    if hasattr(mask, "detach"):
        return mask.detach().cpu().numpy()
    return np.asarray(mask)


def rendered_mask(shape: Tuple[int, int], roi: Optional[Sequence[int]], mask: Any = None) -> np.ndarray:
    """Boolean (slow, fast): pixels inside the ROI whose mask value is not 0.

    Parameters
    ----------
    shape : (int, int)
        (slow, fast) pixel counts.
    roi : sequence of 4 int, optional
        See :func:`roi_mask`.
    mask : array_like, optional
        (slow, fast) detector mask (0 = skip the pixel), as ``config.detector.mask``.

    Raises
    ------
    ValueError
        When the mask's shape is not ``shape``.
    """
    rendered = roi_mask(shape, roi)
    if mask is not None:
        values = _as_numpy(mask)
        if values.shape != rendered.shape:
            raise ValueError(f"detector.mask has shape {values.shape} but the image is {rendered.shape} (slow, fast)")
        rendered &= values != 0
    return rendered


def rendered_pixels(shape: Tuple[int, int], roi: Optional[Sequence[int]], mask: Any = None) -> List[Tuple[int, int]]:
    """The rendered pixels as (slow, fast) pairs in raster order (see :func:`rendered_mask`)."""
    slow_index, fast_index = np.nonzero(rendered_mask(shape, roi, mask))
    return [(int(s), int(f)) for s, f in zip(slow_index, fast_index)]
