"""Small vector helpers on torch tensors (last axis = x, y, z).

Every formula follows the legacy arithmetic order so that float64 results
agree with the legacy program to the last bits where it matters.
"""
from __future__ import annotations

import torch

__all__ = ["dot", "cross", "norm", "unitize", "rotate_xyz", "rotate_about_axis"]


def dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1] + u[..., 2] * v[..., 2]


def cross(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.stack(
        (
            u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1],
            u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2],
            u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0],
        ),
        dim=-1,
    )


def norm(v: torch.Tensor) -> torch.Tensor:
    """Euclidean length, safe to differentiate at zero length (gradient 0 there)."""
    sq = dot(v, v)
    positive = sq > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, sq, torch.ones_like(sq))), torch.zeros_like(sq))


def unitize(v: torch.Tensor):
    """(unit vector, length); a zero vector stays zero, as in the legacy program."""
    length = norm(v)
    safe = torch.where(length != 0, length, torch.ones_like(length))
    unit = torch.where((length != 0).unsqueeze(-1), v / safe.unsqueeze(-1), torch.zeros_like(v))
    return unit, length


def rotate_xyz(v: torch.Tensor, rx, ry, rz) -> torch.Tensor:
    """Rotate about lab x, then y, then z (right-handed, radians)."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    cx, sx = torch.cos(rx), torch.sin(rx)
    y, z = y * cx + z * (-sx), y * sx + z * cx
    cy, sy = torch.cos(ry), torch.sin(ry)
    x, z = x * cy + z * sy, x * (-sy) + z * cy
    cz, sz = torch.cos(rz), torch.sin(rz)
    x, y = x * cz + y * (-sz), x * sz + y * cz
    return torch.stack((x, y, z), dim=-1)


def rotate_about_axis(v: torch.Tensor, axis: torch.Tensor, angle) -> torch.Tensor:
    """Rodrigues rotation of v about a unit axis by angle (radians), legacy term order."""
    s, c = torch.sin(angle), torch.cos(angle)
    ax, ay, az = axis[..., 0], axis[..., 1], axis[..., 2]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    along = (ax * vx + ay * vy + az * vz) * (1.0 - c)
    return torch.stack(
        (
            ax * along + vx * c + (-az * vy + ay * vz) * s,
            ay * along + vy * c + (az * vx - ax * vz) * s,
            az * along + vz * c + (-ay * vx + ax * vy) * s,
        ),
        dim=-1,
    )
