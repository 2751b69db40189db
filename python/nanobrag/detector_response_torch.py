"""Detector response in torch: a differentiable point-spread function and torch-generator noise.

:func:`apply_psf` reproduces the legacy PSF (csrc/nb_detector_response.c):
pixel-integrated Gaussian or fibre kernel inside a circle of the rendering
radius, per-pixel automatic radii, the analytic lost-photon add-back and the
legacy edge rule (a tap at fast == fpixels lands in column 0 of the next
row).  A Gaussian with one radius for all sources is applied separably;
other small kernels (radius <= 4) as one shifted copy per tap; larger ones as
FFT convolutions (one per distinct radius), whose cost does not grow with
the kernel area.  It is differentiable with respect to
the image and the PSF width; radii are integers taken from the values.
Results equal the C library's to float rounding: the legacy adds every tap
to a float accumulator, the FFT sums in the working dtype (see
specs/detector_response.md for the tolerance).

:func:`response_noise` is the noise pipeline with torch's generator on the
image's device (not the legacy sequence; not differentiable).
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np
import torch

__all__ = ["psf_kernel", "auto_radii", "apply_psf", "response_noise", "readout_noise"]

FIBER_G_PER_FWHM = 0.652383013252053
_LOSS_FACTOR = 10.0  # automatic radius: about sqrt(I)/10 photons lost per source pixel
#: kernels with at most this many taps (radius <= 4) are applied as shifted copies, larger ones by FFT
_MAX_SHIFT_ADD_TAPS = 64
#: a Gaussian whose sources all share the global radius is applied separably up to this radius
_MAX_SEPARABLE_RADIUS = 32


def _as_tensor(x, dtype, device) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(dtype=dtype, device=device)
    return torch.tensor(float(x), dtype=dtype, device=device)


def _gauss_axis(fwhm: torch.Tensor, radius: int) -> torch.Tensor:
    """erf(u sqrt(ln 16)/fwhm) differences over unit pixels u = -r..r: the Gaussian kernel is
    0.25 * e[dy] * e[dx] (unit volume over the plane)."""
    d = torch.arange(-radius, radius + 1, dtype=fwhm.dtype, device=fwhm.device)
    c = math.sqrt(math.log(16.0)) / fwhm
    return torch.erf((d + 0.5) * c) - torch.erf((d - 0.5) * c)


def psf_kernel(psf_type: str, fwhm_px, radius: int, *, dtype=torch.float64, device="cpu") -> torch.Tensor:
    """(2r+1, 2r+1) kernel [dy, dx]: the PSF integrated over each unit pixel, zero outside radius r.

    Not renormalised (as the legacy).  ``fwhm_px`` may be a tensor requiring grad.
    """
    fwhm = _as_tensor(fwhm_px, dtype, device)
    d = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    dy, dx = torch.meshgrid(d, d, indexing="ij")
    inside = (dx * dx + dy * dy) <= radius * radius
    if psf_type == "gauss":
        e = _gauss_axis(fwhm, radius)
        kernel = 0.25 * e[:, None] * e[None, :]
    elif psf_type == "fiber":
        g = fwhm * FIBER_G_PER_FWHM

        def corner(x, y):
            return torch.atan((x * y) / (g * torch.sqrt(g * g + x * x + y * y))) / (2.0 * math.pi)

        kernel = corner(dx + 0.5, dy + 0.5) - corner(dx + 0.5, dy - 0.5) - corner(dx - 0.5, dy + 0.5) + corner(
            dx - 0.5, dy - 0.5
        )
    else:
        raise ValueError(f"psf_type must be 'gauss' or 'fiber', got {psf_type!r}")
    return torch.where(inside, kernel, torch.zeros_like(kernel))


def _radius_from(psf_type: str, intensity: np.ndarray, fwhm_px: float, maxwidth: int, global_: bool) -> np.ndarray:
    """Automatic radii (the C library's rule, including radius 1 for faint Gaussian sources)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lost = np.sqrt(intensity) / _LOSS_FACTOR
        if psf_type == "gauss":
            # the same quantity written two ways, as the legacy does
            if global_:
                arg = -np.log(lost / intensity) / math.log(4.0) / 2
            else:
                arg = -np.log(lost / intensity) / math.log(16.0)
            arg = np.where(arg > 0, arg, 0.0)
            r = 1 + np.ceil(np.sqrt(arg) * fwhm_px)
        else:
            r = 1 + np.ceil(fwhm_px * FIBER_G_PER_FWHM * (intensity / lost))
    r = np.where(r <= maxwidth, r, maxwidth)
    return np.maximum(r, 1).astype(np.int64)


def _thresholds(psf_type: str, fwhm_px: float, maxwidth: int, radius: int) -> np.ndarray:
    """For k = 2..radius, the smallest positive double whose per-pixel radius is >= k (0: every one).

    The rule is nondecreasing in the photons, so a pixel's radius is 1 plus
    the number of thresholds it reaches; bisection on the bit patterns of
    positive doubles finds each threshold exactly.
    """
    ks = np.arange(2, radius + 1)
    if ks.size == 0:
        return np.zeros(0)

    def reaches(bits: np.ndarray) -> np.ndarray:
        return _radius_from(psf_type, bits.view(np.float64), fwhm_px, maxwidth, False) >= ks

    lo = np.full(ks.shape, np.array(5e-324).view(np.int64))
    hi = np.full(ks.shape, np.array(np.finfo(np.float64).max).view(np.int64))
    everyone = reaches(lo.copy())
    for _ in range(64):
        mid = lo + (hi - lo) // 2
        ok = reaches(mid.copy())
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    thresholds = hi.view(np.float64).copy()
    thresholds[everyone] = 0.0
    return thresholds


def auto_radii(psf_type: str, values: torch.Tensor, fwhm_px: float, radius_px: int) -> Tuple[int, torch.Tensor]:
    """(global radius, per-pixel radii as an int64 tensor, 0 where values <= 0); global 0 = nothing to blur.

    ``values``: the image as float64 (any device).
    """
    slow, fast = values.shape
    maxwidth = max(slow, fast)
    positive = values > 0
    if radius_px > 0:
        radius = min(radius_px, maxwidth)
        return radius, torch.where(positive, radius, 0).to(torch.int64)
    max_I = float(values.max())
    if not max_I > 0:
        return 0, torch.zeros(values.shape, dtype=torch.int64, device=values.device)
    radius = int(_radius_from(psf_type, np.array([max_I]), fwhm_px, maxwidth, True)[0])
    bounds = torch.as_tensor(_thresholds(psf_type, fwhm_px, maxwidth, radius), device=values.device)
    radii = 1 + torch.bucketize(values, bounds, right=True)
    return radius, torch.where(positive, torch.clamp(radii, max=radius), 0)


def _lost_fractions(psf_type: str, fwhm: torch.Tensor, radius: int) -> torch.Tensor:
    """Fraction of a source's photons beyond radius k, for k = 0..radius."""
    k = torch.arange(radius + 1, dtype=fwhm.dtype, device=fwhm.device)
    if psf_type == "gauss":
        return torch.exp(-math.log(16.0) * (k / fwhm) ** 2)
    g = fwhm * FIBER_G_PER_FWHM
    return g / torch.sqrt(g * g + k * k)


def apply_psf(image: torch.Tensor, psf_type: str, fwhm_px, radius_px: int = 0) -> Tuple[torch.Tensor, torch.Tensor, int]:
    """The legacy PSF of a (slow, fast) tensor: ``(blurred, lost photons, global radius)``.

    ``radius_px`` 0 = automatic per source pixel.  Differentiable in ``image``
    and ``fwhm_px`` (a float or 0-d tensor, pixels).
    """
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (slow, fast), got shape {tuple(image.shape)}")
    dtype, device = image.dtype, image.device
    fwhm = _as_tensor(fwhm_px, dtype, device)
    slow, fast = image.shape
    values = image.detach().to(torch.float64)
    radius, radii_t = auto_radii(psf_type, values, float(fwhm.detach()), int(radius_px))
    if radius == 0:  # no photons: the legacy returns an empty image
        return torch.zeros_like(image), image.new_zeros(()), 0

    kernel = psf_kernel(psf_type, fwhm, radius, dtype=dtype, device=device)
    positive = radii_t > 0
    counts = torch.bincount(radii_t.reshape(-1), minlength=radius + 1)
    present = [r for r in torch.nonzero(counts[1:]).reshape(-1).add(1).tolist()]
    fractions = _lost_fractions(psf_type, fwhm, radius)
    fractions = torch.cat([torch.zeros_like(fractions[:1]), fractions[1:]])  # radius 0: skipped pixels
    lost = (image * fractions[radii_t]).sum()
    taps = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)
            if dx * dx + dy * dy <= radius * radius]
    if psf_type == "gauss" and present == [radius] and radius <= _MAX_SEPARABLE_RADIUS:
        region = _separable_gauss(image, positive, _gauss_axis(fwhm, radius), radius)
    elif len(taps) <= _MAX_SHIFT_ADD_TAPS:
        region = _shift_add(image, positive, radii_t, kernel, taps, radius, present[0])
    else:
        region = _fft_region(image, radii_t, present, kernel, radius)
    if torch.is_grad_enabled() and region.requires_grad:
        out = region[:, :fast]
        wrapped = torch.zeros_like(out)
        wrapped[1:, 0] = region[:-1, fast]  # taps at x == fast land in column 0 of the next row
        return out + wrapped + lost / (slow * fast), lost, radius
    out = region[:, :fast].contiguous()
    out[1:, 0] += region[:-1, fast]
    out += float(lost) / (slow * fast)
    return out, lost, radius


def _separable_gauss(image, positive, e, radius):
    """Gaussian with one radius for every source: row sums along fast per half width, then
    shifted copies along slow (about 4r passes instead of one per tap)."""
    slow, fast = image.shape
    grad = torch.is_grad_enabled() and (image.requires_grad or e.requires_grad)
    source = torch.where(positive, image, torch.zeros_like(image))
    padded = torch.nn.functional.pad(source, (radius, radius + 1, radius, radius))
    half = {dy: int(math.isqrt(radius * radius - dy * dy)) for dy in range(-radius, radius + 1)}
    region = image.new_zeros((slow, fast + 1))
    rows = None  # sum over |dx| <= width of e[dx] * the source shifted by dx, for every padded row
    width = -1

    def column(dx):
        return padded[:, radius - dx:radius - dx + fast + 1]

    weights = e if grad else e.detach().cpu().tolist()
    for w in sorted(set(half.values())):
        while width < w:
            width += 1
            if grad:
                term = weights[radius + width] * column(width)
                if width:
                    term = term + weights[radius - width] * column(-width)
                rows = term if rows is None else rows + term
            else:
                if rows is None:
                    rows = column(0) * weights[radius]
                else:
                    rows.add_(column(width), alpha=weights[radius + width])
                    rows.add_(column(-width), alpha=weights[radius - width])
        for dy, wd in half.items():
            if wd != w:
                continue
            window = rows[radius - dy:radius - dy + slow]
            if grad:
                region = region + (0.25 * weights[radius + dy]) * window
            else:
                region.add_(window, alpha=0.25 * weights[radius + dy])
    return region


def _shift_add(image, positive, radii_t, kernel, taps, radius, smallest):
    """Sums landing on (y, x), x = 0..fast, as one shifted copy per kernel tap (small kernels)."""
    slow, fast = image.shape
    grad = torch.is_grad_enabled() and (image.requires_grad or kernel.requires_grad)
    region = image.new_zeros((slow, fast + 1))
    padded = {}
    weights = kernel if grad else kernel.detach().cpu().numpy()
    for dy, dx in taps:
        d2 = dy * dy + dx * dx
        key = 0 if d2 <= smallest * smallest else d2  # every source reaches taps within the smallest radius
        if key not in padded:  # the sources whose own radius reaches this tap
            source = torch.where(positive & (radii_t * radii_t >= d2), image, torch.zeros_like(image))
            padded[key] = torch.nn.functional.pad(source, (radius, radius + 1, radius, radius))
        window = padded[key][radius - dy:radius - dy + slow, radius - dx:radius - dx + fast + 1]
        if grad:
            region = region + weights[dy + radius, dx + radius] * window
        else:
            region.add_(window, alpha=float(weights[dy + radius, dx + radius]))
    return region


def _fft_region(image, radii_t, present, kernel, radius):
    """Sums landing on (y, x), x = 0..fast, by FFT: one linear convolution per distinct radius."""
    slow, fast = image.shape
    device = image.device
    d = torch.arange(-radius, radius + 1, device=device)
    dist2 = d[:, None] ** 2 + d[None, :] ** 2
    # full linear convolution on a grid with room for the kernel: no circular wrap
    shape = (slow + 2 * radius, fast + 2 * radius)
    spectrum = None
    for r in present:
        source = torch.where(radii_t == r, image, torch.zeros_like(image))
        k_r = torch.where(dist2 <= r * r, kernel, torch.zeros_like(kernel))
        term = torch.fft.rfft2(source, s=shape) * torch.fft.rfft2(k_r, s=shape)
        spectrum = term if spectrum is None else spectrum + term
    full = torch.fft.irfft2(spectrum, s=shape)
    # full[y + radius, x + radius] is the sum landing on (y, x)
    return full[radius:radius + slow, radius:radius + fast + 1]


def response_noise(
    photons: torch.Tensor,
    *,
    flicker_noise: float,
    calibration_noise: float,
    seed: int,
    calibration_seed: Optional[int],
    generator_device=None,
) -> torch.Tensor:
    """Flicker, calibration error and Poisson counts with torch generators (float64 counts).

    The calibration error has its own generator seeded by ``calibration_seed``
    (default 123456789), so its pattern stays fixed from image to image;
    flicker and counting share the ``seed`` generator.
    """
    device = photons.device if generator_device is None else generator_device
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)
    p = photons.detach().to(torch.float64)
    if flicker_noise > 0:
        p = p * (1.0 + flicker_noise * torch.randn(p.shape, generator=gen, dtype=p.dtype, device=p.device))
    if calibration_noise > 0:
        cal = torch.Generator(device=device)
        cal.manual_seed((123456789 if calibration_seed is None else int(calibration_seed)) & 0xFFFF_FFFF_FFFF_FFFF)
        p = p * (1.0 + calibration_noise * torch.randn(p.shape, generator=cal, dtype=p.dtype, device=p.device))
    return torch.poisson(torch.clamp(p, min=0.0), generator=gen)


def readout_noise(adu: torch.Tensor, readout_noise_adu: float, seed: int) -> torch.Tensor:
    """Gaussian read-out noise (ADU) from a generator derived from ``seed`` (independent of the counts)."""
    if readout_noise_adu <= 0:
        return adu
    gen = torch.Generator(device=adu.device)
    gen.manual_seed((int(seed) * 2654435761 + 1) & 0xFFFF_FFFF_FFFF_FFFF)
    return adu + readout_noise_adu * torch.randn(adu.shape, generator=gen, dtype=adu.dtype, device=adu.device)
