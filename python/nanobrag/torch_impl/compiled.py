"""Optional torch.compile path for the hot kernel (placeholder: eager only)."""
from __future__ import annotations


def choose_kernel(plan, compile_option):
    return None, None
