"""The legacy random streams (nanobrag.c_engine.random_streams), the seed rule and the rendered-pixel mask.

The draws without a plan are checked against those of a C plan (the oracle
that the golden tests check against the legacy program), bit for bit: both
come from the same generator, so any difference is a wrong stream order.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nanobrag.seeds
from nanobrag import Config
from nanobrag.c_engine import engine, random_streams
from nanobrag.masks import rendered_mask, rendered_pixels, roi_mask


def _mosaic_config(misset_seed=42, mosaic_seed=12345678):
    cfg = Config()
    cfg.crystal.cell = (50, 60, 70, 90, 90, 90)
    cfg.crystal.misset_random = True
    cfg.crystal.misset_seed = misset_seed
    cfg.crystal.mosaic_spread_deg = 0.5
    cfg.crystal.mosaic_domains = 5
    cfg.crystal.mosaic_seed = mosaic_seed
    cfg.structure_factors.default_F = 10
    cfg.detector.detpixels = (4, 4)
    return cfg


@pytest.mark.parametrize("seeds", [(42, 12345678), (7, -3), (-2, 5)])
def test_draws_without_a_plan_equal_the_plans(seeds):
    cfg = _mosaic_config(*seeds)
    geometry = engine.geometry(cfg)
    misset, draws = random_streams.legacy_draws(cfg)
    assert misset == geometry.misset_rad and any(misset)
    assert draws.shape == (geometry.mosaic_domains, 3) == (5, 3)
    assert random_streams.random_misset_rad(cfg) == geometry.misset_rad
    # fewer domains: the leading draws of the same stream
    assert np.array_equal(random_streams.mosaic_draws(cfg, 2), draws[:2])


def test_the_torch_engine_builds_no_c_plan():
    """The torch engine reaches the random streams, not the C engine module (which builds plans)."""
    code = textwrap.dedent(
        """
        import sys
        import nanobrag
        from nanobrag import Config
        cfg = Config()
        cfg.crystal.cell = (50, 60, 70, 90, 90, 90)
        cfg.crystal.misset_random, cfg.crystal.misset_seed = True, 42
        cfg.crystal.mosaic_spread_deg, cfg.crystal.mosaic_domains = 0.5, 3
        cfg.structure_factors.default_F = 10
        cfg.detector.detpixels = (3, 3)
        nanobrag.simulate(cfg, engine="torch")
        print("nanobrag.c_engine.engine" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_torch_and_c_engines_use_the_same_random_misset():
    cfg = _mosaic_config()
    cfg.detector.detpixels = (3, 3)
    torch_result = __import__("nanobrag").simulate(cfg, engine="torch")
    # the torch engine derives its geometry itself; only the draws are shared
    np.testing.assert_allclose(torch_result.geometry.misset_rad, engine.geometry(cfg).misset_rad, rtol=0, atol=1e-15)


def test_noise_seed_precedence_and_the_clock(monkeypatch):
    cfg = Config()
    monkeypatch.setattr(nanobrag.seeds.time, "time", lambda: 1700000000.7)
    assert nanobrag.seeds.noise_seed(cfg.output) == 1700000000
    cfg.output.noise_seed = 5
    assert nanobrag.seeds.noise_seed(cfg.output) == 5
    assert nanobrag.seeds.noise_seed(cfg.output, 9) == 9
    notes = []
    assert nanobrag.seeds.misset_seed(None, notes) == 1700000000 and "1700000000 (the clock)" in notes[0]
    assert nanobrag.seeds.misset_seed(3, notes) == 3 and len(notes) == 1


def test_rendered_mask_is_roi_and_mask():
    mask = np.ones((4, 5), dtype=np.uint16)
    mask[1, 2] = 0
    roi = (1, 3, 0, 2)  # fast 1..3, slow 0..2 inclusive
    inside = roi_mask((4, 5), roi)
    assert inside.sum() == 9 and inside[0, 1] and inside[2, 3] and not inside[3, 1] and not inside[0, 4]
    rendered = rendered_mask((4, 5), roi, mask)
    assert rendered.sum() == 8 and not rendered[1, 2]
    assert rendered_pixels((4, 5), roi, mask)[:4] == [(0, 1), (0, 2), (0, 3), (1, 1)]
    assert roi_mask((2, 2), None).all()
    with pytest.raises(ValueError, match="detector.mask has shape"):
        rendered_mask((4, 4), None, mask)
