"""The C library loads in-process and its first entry points work."""
import math

import nanobrag
from nanobrag.c_engine import ffi, lib, version


def test_version_matches_package():
    assert version() == nanobrag.__version__


def test_config_init_fills_caller_struct_with_legacy_defaults():
    cfg = ffi.new("nb_config *")
    cfg.distance_mm = -1.0  # overwritten by the call
    lib.nb_config_init(cfg)
    assert cfg.distance_mm == 100.0
    assert cfg.pixel_size_mm == 0.1
    assert list(cfg.detsize_mm) == [102.4, 102.4]
    assert cfg.convention == lib.NB_CONVENTION_MOSFLM
    assert math.isnan(cfg.mosaic_spread_deg)
    assert cfg.mosaic_seed == 12345678
    assert cfg.fluence_photons_per_m2 * 7.94079248018965e-30 == 1.0000000000000002 or abs(
        cfg.fluence_photons_per_m2 * 7.94079248018965e-30 - 1.0) < 1e-15


def test_status_messages_are_named():
    assert ffi.string(lib.nb_status_message(lib.NB_ERR_INVALID_ARGUMENT)) == b"invalid argument"
