"""The tables of the C binding cover both sides exactly, so a field added on one side only fails here.

* Config -> nb_config (``c_engine.convert.CONFIG_TO_C``): every member of the C
  struct (as cffi reads it from csrc/nanobrag.h) is set by exactly one rule or
  listed as not coming from the Config; every Config field is read by a rule
  or listed as not going to C.
* The Geometry field list: ``results.Geometry`` is the definition; the C
  ``nb_derived`` struct must hold the same members, the C binding builds
  Geometry from that list, and the parity report's ``GEOMETRY_ORDER`` is a
  permutation of it.  (The torch engine builds Geometry by keyword, which
  fails on a missing or unknown field.)
"""
from __future__ import annotations

from collections import Counter
from dataclasses import fields, is_dataclass

import numpy as np

from nanobrag import Config, Geometry
from nanobrag.c_engine import engine, ffi
from nanobrag.c_engine.convert import C_FIELDS_NOT_FROM_CONFIG, CONFIG_FIELDS_NOT_IN_C, CONFIG_TO_C, to_nb_config
from nanobrag.parity import GEOMETRY_ORDER


def _struct_fields(name):
    return [member for member, _ in ffi.typeof(name).fields]


def _config_leaves(obj, prefix=""):
    for f in fields(obj):
        value = getattr(obj, f.name)
        path = prefix + f.name
        if is_dataclass(value) and path not in CONFIG_FIELDS_NOT_IN_C:
            yield from _config_leaves(value, path + ".")
        else:
            yield path


def test_every_nb_config_member_is_set_once_or_listed():
    set_by_rules = Counter(member for rule in CONFIG_TO_C for member in rule.c_fields)
    assert [m for m, n in set_by_rules.items() if n > 1] == []
    c_members = set(_struct_fields("nb_config"))
    assert set(set_by_rules) | set(C_FIELDS_NOT_FROM_CONFIG) == c_members
    assert not set(set_by_rules) & set(C_FIELDS_NOT_FROM_CONFIG)


def test_every_config_field_is_read_or_listed():
    read = {path for rule in CONFIG_TO_C for path in rule.config_paths}
    leaves = set(_config_leaves(Config()))
    assert read | set(CONFIG_FIELDS_NOT_IN_C) == leaves
    assert not read & set(CONFIG_FIELDS_NOT_IN_C)


def test_a_member_missing_from_the_table_would_be_noticed():
    """The check above is not vacuous: the table covers dozens of members and drops none silently."""
    assert len(_struct_fields("nb_config")) > 60
    assert "mosaic_seed" in {m for rule in CONFIG_TO_C for m in rule.c_fields}


def test_the_table_fills_the_struct():
    """Every rule writes what it names: distinctive values arrive in the struct (units untouched)."""
    cfg = Config()
    cfg.crystal.cell = (51, 52, 53, 91, 92, 93)
    cfg.crystal.misset_deg = (1, 2, 3)
    cfg.crystal.mosaic_domains = 7
    cfg.beam.hdiv_range_mrad = 0.25
    cfg.beam.polar_vector = (0, 0, 1)
    cfg.detector.convention = "XDS"
    cfg.detector.detpixels = (11, 13)
    cfg.detector.xbeam_mm, cfg.detector.ybeam_mm = 4.5, 5.5
    cfg.detector.roi = (1, 2, 3, 4)
    cfg.detector.mask = np.ones((13, 11))
    cfg.sampling.spindle_axis = (0, 1, 0)
    cfg.phi_mode = "c-parity"
    c, keep = to_nb_config(cfg)
    assert list(c.cell) == [51, 52, 53, 91, 92, 93] and c.has_cell == 1
    assert c.misset_mode == 1 and list(c.misset_deg) == [1, 2, 3]
    assert c.mosaic_domains == 7 and c.hdiv_range_mrad == 0.25 and np.isnan(c.vdiv_range_mrad)
    assert c.has_polar_vector == 1 and list(c.polar_vector) == [0, 0, 1] and c.has_beam_vector == 0
    assert c.convention == 3 and list(c.detpixels) == [11, 13] and list(c.beam_center_mm) == [4.5, 5.5]
    assert list(c.roi) == [1, 2, 3, 4] and list(c.mask_pixels) == [11, 13]
    assert c.has_spindle_axis == 1 and list(c.spindle_axis) == [0, 1, 0] and c.phi_mode == 1
    assert c.dispersion_steps == -1 and c.oversample == -1  # None -> the library's "unset"


def test_geometry_fields_are_nb_derived_members():
    assert [f.name for f in fields(Geometry)] == _struct_fields("nb_derived")


def test_parity_geometry_order_is_a_permutation_of_the_fields():
    assert sorted(GEOMETRY_ORDER) == sorted(f.name for f in fields(Geometry))
    assert len(set(GEOMETRY_ORDER)) == len(GEOMETRY_ORDER)


def test_c_geometry_converts_every_field_to_its_declared_type():
    cfg = Config()
    cfg.crystal.cell = (50, 60, 70, 90, 90, 90)
    cfg.structure_factors.default_F = 10
    cfg.detector.detpixels = (3, 4)
    g = engine.geometry(cfg)
    for f in fields(Geometry):
        value = getattr(g, f.name)
        kind = str(f.type)
        if kind == "Vec3":
            assert isinstance(value, tuple) and len(value) == 3 and all(isinstance(x, float) for x in value), f.name
        elif kind in ("int", "float", "bool", "str"):
            assert type(value).__name__ == kind, f.name
        else:
            assert isinstance(value, tuple) and all(isinstance(x, int) for x in value), f.name
    assert (g.convention, g.pivot, g.fpixels, g.spixels) == ("MOSFLM", "beam", 3, 4)
