"""Rotated cell tables for every (phi step, mosaic domain), and the legacy phi = 0 carry-over.

``phi_mode="spec"``: step k uses the cell rotated by phi0 + k*phistep.

``phi_mode="c-parity"``: the legacy loop rotates the cell only when the angle
is not exactly 0.0 and otherwise reuses the vectors the previous rotation
left behind.  In the single-threaded raster order every phi loop runs the
same sequence of angles, so a zero step sees the latest non-zero angle
earlier in the same sweep, else the last non-zero angle of the sweep --
except in the very first phi loop the program executes, where a zero step
with no earlier non-zero angle sees the unrotated cell.  That first loop
belongs to the first rendered pixel (raster order, ROI, mask) and, within
it, to the first (layer, sub-pixel, source) path surviving the dmin cut.

:class:`PhiCarryCache` holds what this needs on the engine's device: the
step-to-rotation index maps (rebuilt only when the detector size, the mosaic
domain count or the phi sampling change) and, per pixel batch (keyed by the
batch's slow and fast index ranges), the raster-order position of each path.
The first executed path is located on the device by a running minimum over
the batches (no host synchronisation), and the tables are gathered from the
rotations of the current plan, so gradients flow through the carried vectors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch

from .plan import Plan

__all__ = ["CellTables", "PhiCarryCache", "cell_tables", "carry_maps", "NO_POSITION"]

#: "no position yet" for the running minima (int64 max)
NO_POSITION = torch.iinfo(torch.int64).max


@dataclass
class CellTables:
    #: (H*M, 3, 3) rows a, b, c (m) per step in loop order (phi outer, mosaic inner)
    normal: torch.Tensor
    #: the same for the first executed path, when it differs (c-parity only)
    first: Optional[torch.Tensor]


def carry_maps(angle_values: List[float]) -> Tuple[List[int], List[int]]:
    """(normal, first) maps step -> rotation index; index len(angles) means the unrotated cell."""
    unrotated = len(angle_values)
    nonzero = [k for k, a in enumerate(angle_values) if a != 0.0]
    normal, first = [], []
    for k, a in enumerate(angle_values):
        if a != 0.0:
            normal.append(k)
            first.append(k)
            continue
        earlier = [j for j in nonzero if j < k]
        if earlier:
            normal.append(earlier[-1])
            first.append(earlier[-1])
        else:
            normal.append(nonzero[-1] if nonzero else unrotated)
            first.append(unrotated)
    return normal, first


class PhiCarryCache:
    """Device-side bookkeeping of the c-parity carry-over for one engine device and dtype."""

    def __init__(self, device: torch.device, dtype: torch.dtype):
        self.device = device
        self.dtype = dtype
        self._key = None
        self._normal: Optional[torch.Tensor] = None
        self._first: Optional[torch.Tensor] = None
        self._batches: Dict[tuple, torch.Tensor] = {}
        self.builds = 0  # how many times the maps were (re)built, for tests

    def _prepare(self, plan: Plan) -> None:
        det, ph = plan.detector, plan.phi
        key = (det.spixels, det.fpixels, plan.mosaic.domains, tuple(ph.angle_values), plan.paths_per_pixel)
        if key == self._key:
            return
        normal, first = carry_maps(ph.angle_values)
        self._normal = torch.tensor(normal, dtype=torch.int64, device=self.device)
        self._first = torch.tensor(first, dtype=torch.int64, device=self.device) if first != normal else None
        self._batches = {}
        self._key = key
        self.builds += 1

    @property
    def needs_first_path(self) -> bool:
        return self._first is not None

    def tables(self, plan: Plan) -> CellTables:
        self._prepare(plan)
        rotated = plan.phi_rotated_cells(plan.phi.angles())
        base = torch.stack((plan.crystal.a0, plan.crystal.b0, plan.crystal.c0)).unsqueeze(0)
        choices = torch.cat((rotated, base), 0)  # (H + 1, 3, 3)
        normal = _flatten(plan.apply_mosaic(choices.index_select(0, self._normal)))
        first = None
        if self._first is not None:
            first = _flatten(plan.apply_mosaic(choices.index_select(0, self._first)))
        return CellTables(normal=normal, first=first)

    def path_positions(self, plan: Plan, pix: torch.Tensor, batch_key: tuple) -> torch.Tensor:
        """(P * paths_per_pixel,) raster-order position of every path of the batch, cached per batch.

        batch_key: the digest of the rendered-pixel list and the batch's (slow, fast) index
        bounds, so a batch of another ROI or mask never reuses a stale entry.
        """
        hit = self._batches.get(batch_key)
        if hit is not None:
            return hit
        n = plan.paths_per_pixel
        pos = (pix.view(-1, 1) * n + torch.arange(n, device=pix.device).view(1, -1)).reshape(-1)
        self._batches[batch_key] = pos
        return pos

    def locate_first_path(
        self, plan: Plan, pix: torch.Tensor, batch_key: tuple, survive: torch.Tensor, running: torch.Tensor, update: bool = True
    ):
        """Update the running first-path position (unless ``update`` is False, e.g. for traced
        pixels); return (flat path index in the batch, present in the batch, running position)."""
        pos = self.path_positions(plan, pix, batch_key)
        masked = torch.where(survive.reshape(-1), pos, torch.full_like(pos, NO_POSITION))
        if update:
            running = torch.minimum(running, masked.min())
        hit = masked == running
        index = torch.argmax(hit.to(torch.int64))
        return index, hit.any(), running


def _flatten(cells: torch.Tensor) -> torch.Tensor:
    h, m = cells.shape[:2]
    return cells.reshape(h * m, 3, 3)


def cell_tables(plan: Plan, cache: Optional[PhiCarryCache]) -> CellTables:
    """Spec mode (cache None): a fresh rotation per step; c-parity: the carry-over tables."""
    if cache is None:
        return CellTables(normal=_flatten(plan.apply_mosaic(plan.phi_rotated_cells(plan.phi.angles()))), first=None)
    return cache.tables(plan)
