"""Recover a perturbed unit cell and detector distance from a simulated image by gradient descent.

The torch engine is differentiable in its Config parameters: put tensors with
``requires_grad=True`` into the Config, simulate, form a loss against an
observed image, and let autograd give the gradient (docs/gradients.md).

The "observed" image is simulated with the true cell (40, 45, 50 A) and
distance (50 mm); the fit starts from a cell off by ~0.5 % and a distance off
by 0.8 mm.  At low angles only the ratio cell/distance moves the spots, so the
loss has a long shallow valley; L-BFGS with a line search follows it, in
parameters scaled to their size.

    python examples/fit_cell_and_distance.py [--iterations 40]
"""
from __future__ import annotations

import argparse
from typing import Dict, Sequence

import torch

import nanobrag
from nanobrag import Config, CrystalConfig, DetectorConfig, SamplingConfig, StructureFactorConfig

TRUE_CELL = (40.0, 45.0, 50.0)  # Angstrom
TRUE_DISTANCE = 50.0  # mm
START_CELL = (40.25, 44.8, 50.3)
START_DISTANCE = 50.8


def make_config(cell_lengths: Sequence, distance_mm) -> Config:
    """A small, quick experiment: 64 x 64 pixels of 0.6 mm, broad spots (N = 5), three phi steps.

    cell_lengths and distance_mm may be numbers or 0-d tensors (then the image depends on them).
    """
    a, b, c = cell_lengths
    right = 90.0
    return Config(
        crystal=CrystalConfig(cell=(a, b, c, right, right, right), misset_deg=(12.0, -20.0, 33.0), n_cells=(5.0, 5.0, 5.0)),
        structure_factors=StructureFactorConfig(default_F=100.0),
        detector=DetectorConfig(distance_mm=distance_mm, pixel_size_mm=0.6, detpixels=(64, 64)),
        sampling=SamplingConfig(phi_start_deg=0.0, osc_deg=1.0, phi_steps=3, oversample=1),
    )


def simulate_image(cell_lengths, distance_mm) -> torch.Tensor:
    return nanobrag.simulate(make_config(cell_lengths, distance_mm), engine="torch", dtype="float64").image


def fit(iterations: int = 40, verbose: bool = True) -> Dict[str, float]:
    with torch.no_grad():
        target = torch.sqrt(simulate_image(TRUE_CELL, TRUE_DISTANCE))  # sqrt: compress the spot dynamic range
    scale = torch.tensor([*START_CELL, START_DISTANCE], dtype=torch.float64)
    x = torch.ones(4, dtype=torch.float64, requires_grad=True)  # parameters relative to the start values
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")
    history = []

    def closure():
        opt.zero_grad()
        p = x * scale
        image = simulate_image((p[0], p[1], p[2]), p[3])
        loss = ((torch.sqrt(image) - target) ** 2).mean()
        loss.backward()
        history.append(loss.item())
        if verbose:
            print(f"evaluation {len(history):3d}  loss {loss.item():.4g}  a b c {[round(v, 4) for v in p[:3].tolist()]}  "
                  f"distance {p[3].item():.4f} mm")
        return loss

    opt.step(closure)
    p = (x * scale).detach()
    return {"a": p[0].item(), "b": p[1].item(), "c": p[2].item(), "distance_mm": p[3].item(),
            "loss": history[-1], "evaluations": len(history)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=40)
    args = parser.parse_args()
    result = fit(iterations=args.iterations)
    print("true:   a=%.4f b=%.4f c=%.4f distance=%.4f mm" % (*TRUE_CELL, TRUE_DISTANCE))
    print("fitted: a=%(a).4f b=%(b).4f c=%(c).4f distance=%(distance_mm).4f mm" % result)


if __name__ == "__main__":
    main()
