"""nanoBragg options of the sample: crystal, structure factors, amorphous background."""
from __future__ import annotations

from typing import Tuple

from ..flag_parsing import FILE, XYZ, Flag, Value, count, integer, nonneg, num, pos
from .apply import (
    apply_amorphous,
    apply_amorphous_table,
    apply_cell,
    apply_file,
    apply_input_setting,
    apply_misset,
    apply_stol,
    components,
    constant,
    consume_cell,
    consume_misset,
    no_effect,
    setter,
)

C, SF, BG = "Crystal", "Structure factors", "Background"

CRYSTAL: Tuple[Flag, ...] = (
    Flag("-cell", C, "unit cell: lengths (Angstrom) and angles (degrees); 1 to 6 numbers, "
         "b and c default to a and missing angles to 90", apply_cell,
         metavar="A [B C ALPHA BETA GAMMA]", default="none (needed unless -mat)", consume=consume_cell,
         expects_text="1 to 6 numbers (a [b c alpha beta gamma], Angstrom and degrees)"),
    Flag("-mat", C, "MOSFLM orientation matrix file (reciprocal axes a*, b*, c* as columns, times the "
         "wavelength); with -cell as well, the matrix orients the cell and -cell sets its lengths",
         apply_file("-mat"), (FILE,), "FILE", ("-matrix",), "none (needed unless -cell)"),
    Flag("-misset", C, "static crystal rotation about lab x, then y, then z (degrees), or 'random' "
         "for an orientation drawn from -misset_seed", apply_misset, XYZ, "RX RY RZ | random",
         default="0 0 0", consume=consume_misset,
         expects_text="3 numbers (rotations about x y z, degrees) or the word random"),
    Flag("-misset_seed", C, "seed of the '-misset random' draw", setter("crystal.misset_seed"),
         (integer(),), "N", default="the start-up time"),
    Flag("-N", C, "unit cells along each of a, b and c (values below 1 count as 1)",
         components("crystal.n_cells", (0, 1, 2), convert=float),
         (count("unit cells"),), "N", default="1"),
    Flag("-Na", C, "unit cells along a",
         components("crystal.n_cells", (0,), convert=float),
         (count("unit cells"),), "N", default="1"),
    Flag("-Nb", C, "unit cells along b",
         components("crystal.n_cells", (1,), convert=float),
         (count("unit cells"),), "N", default="1"),
    Flag("-Nc", C, "unit cells along c",
         components("crystal.n_cells", (2,), convert=float),
         (count("unit cells"),), "N", default="1"),
    Flag("-xtal_size", C, "crystal edge along a, b and c (mm); a size > 0 replaces the cell count on "
         "that axis",
         components("crystal.size_mm", (0, 1, 2)),
         (num("mm"),), "MM", ("-xtalsize", "-sample_size", "-samplesize"),
         "0 (use -N)"),
    Flag("-xtal_thick", C, "crystal size along a (mm)", components("crystal.size_mm", (0,)), (num("mm"),), "MM",
         ("-xtal_x", "-sample_thick", "-sample_x"), "0 (use -Na)"),
    Flag("-xtal_width", C, "crystal size along b (mm); clipped to -beamsize", components("crystal.size_mm", (1,)),
         (num("mm"),), "MM", ("-xtal_y", "-sample_width", "-sample_y", "-width"), "0 (use -Nb)"),
    Flag("-xtal_height", C, "crystal size along c (mm); clipped to -beamsize", components("crystal.size_mm", (2,)),
         (num("mm"),), "MM",
         ("-xtal_z", "-xtal_heigh", "-sample_height", "-sample_heigh", "-sample_z", "-height", "-heigh"),
         "0 (use -Nc)"),
    Flag("-square_xtal", C, "parallelepiped crystal: sin(Nx)/sin(x) lattice transform",
         constant("crystal.shape", "square"), default="on"),
    Flag("-round_xtal", C, "ellipsoidal crystal: sinc lattice transform", constant("crystal.shape", "round")),
    Flag("-gauss_xtal", C, "Gaussian spots (no side maxima)", constant("crystal.shape", "gauss")),
    Flag("-tophat_spots", C, "flat-top spots cut at the half width (no side maxima)",
         constant("crystal.shape", "tophat"), aliases=("-binary_spots",)),
    Flag("-fudge", C, "spot-width factor of the round, gauss and tophat shapes", setter("crystal.fudge"),
         (num(),), "F", default="1"),
    Flag("-mosaic", C, "isotropic mosaic spread (degrees)", setter("crystal.mosaic_spread_deg"),
         (num("degrees"),), "DEG", ("-mosaicity", "-mosaic_spread", "-mosaici", "-mosaic_spr"), "none"),
    Flag("-mosaic_domains", C, "number of mosaic domains", setter("crystal.mosaic_domains"),
         (count("domains"),), "N", ("-mosaic_dom",), "10 with a spread > 0, else 1"),
    Flag("-mosaic_seed", C, "seed of the mosaic-domain draws", setter("crystal.mosaic_seed"),
         (integer(),), "N", default="12345678"),
    Flag("-density", C, "sample density (g/cm^3); accepted for compatibility, no effect",
         no_effect("the legacy program only prints the sample density"), (num("g/cm^3"),), "G_CM3",
         ("-sample_density", "-sample_den")),
    Flag("-MW", C, "molecular weight (g/mol); accepted for compatibility, no effect",
         no_effect("the legacy program only prints the molecular weight"), (num("g/mol"),), "G_MOL",
         ("-molecules", "-molec")),
)

STRUCTURE_FACTORS: Tuple[Flag, ...] = (
    Flag("-hkl", SF, "structure factors: text file of h k l F (space group P1); the table is then "
         "cached in the -dump file", apply_file("-hkl"), (FILE,), "FILE", ("-hklin",),
         "the -dump cache if it exists"),
    Flag("-mtz", SF, "structure factors from an MTZ file: amplitudes, or intensities as F = sqrt(max(I, 0)), "
         "expanded from its space group to P1 with Friedel mates; its cell unless -cell or -mat",
         apply_file("-mtz"), (FILE,), "FILE.mtz", default="none"),
    Flag("-mtz_column", SF, "MTZ column to read (F, I, or one of an F(+)/F(-) or I(+)/I(-) pair)",
         apply_file("-mtz_column"), (Value("file"),), "LABEL",
         default="the first amplitude column, else anomalous pair, else intensity", expects_text="a column label"),
    Flag("-pdb", SF, "structure factors computed from an atomic model (PDB or mmCIF) to the detector's "
         "resolution; its cell unless -cell or -mat", apply_file("-pdb"), (FILE,), "FILE", default="none"),
    Flag("-pdb_anomalous", SF, "add f' and f'' at the run's wavelength to the -pdb form factors",
         apply_input_setting("-pdb_anomalous")),
    Flag("-bulk_solvent", SF, "flat (Babinet) bulk solvent for -pdb: F * (1 - KSOL exp(-BSOL s^2))",
         apply_input_setting("-bulk_solvent"), (nonneg(), nonneg("Angstrom^2")), "KSOL BSOL",
         default="none (typical 0.75 200)"),
    Flag("-default_F", SF, "F (electrons) of every reflection the table lacks, inside and outside its "
         "h, k, l range", setter("structure_factors.default_F"), (num("electrons"),), "F", default="0"),
    Flag("-dump", SF, "binary cache of the structure factors: written after reading -hkl, read when "
         "-hkl is absent", setter("output.fdump_path"), (FILE,), "FILE", ("-dumpfile",), "Fdump.bin"),
    Flag("-interpolate", SF, "tricubic interpolation of F between lattice points",
         constant("structure_factors.interpolate", True), default="on when Na, Nb or Nc <= 2"),
    Flag("-nointerpolate", SF, "nearest lattice point F", constant("structure_factors.interpolate", False)),
    Flag("-stol", SF, "amorphous F against sin(theta)/lambda (1/Angstrom); read and checked but, as in "
         "the legacy program, not used", apply_stol("-stol"), (FILE,), "FILE"),
    Flag("-4stol", SF, "as -stol with the first column in 4 sin(theta)/lambda", apply_stol("-4stol"),
         (FILE,), "FILE"),
    Flag("-Q", SF, "as -stol with the first column in Q = 4 pi sin(theta)/lambda", apply_stol("-Q"),
         (FILE,), "FILE"),
    Flag("-stolout", SF, "accepted for compatibility, no effect",
         no_effect("the legacy program never writes this table"), (FILE,), "FILE"),
)

BACKGROUND: Tuple[Flag, ...] = (
    Flag("-amorphous_stol", BG, "amorphous sample in the beam (the legacy nonBragg background, added to the "
         "image): F of one molecule against sin(theta)/lambda (1/Angstrom); unlike -stol it is rendered",
         apply_amorphous_table("stol"), (FILE,), "FILE", default="none"),
    Flag("-amorphous_4stol", BG, "as -amorphous_stol with the first column in 4 sin(theta)/lambda",
         apply_amorphous_table("4stol"), (FILE,), "FILE"),
    Flag("-amorphous_Q", BG, "as -amorphous_stol with the first column in Q = 4 pi sin(theta)/lambda",
         apply_amorphous_table("Q"), (FILE,), "FILE"),
    Flag("-amorphous_thick", BG, "amorphous sample thickness along the beam (mm)",
         apply_amorphous("thickness_mm"), (nonneg("mm"),), "MM", default="0.1"),
    Flag("-amorphous_width", BG, "amorphous sample width (mm); clipped to -beamsize",
         apply_amorphous("width_mm"), (nonneg("mm"),), "MM", default="0.1"),
    Flag("-amorphous_height", BG, "amorphous sample height (mm); clipped to -beamsize",
         apply_amorphous("height_mm"), (nonneg("mm"),), "MM", default="0.1"),
    Flag("-amorphous_size", BG, "amorphous sample thickness, width and height (mm)",
         apply_amorphous("thickness_mm", "width_mm", "height_mm"), (nonneg("mm"),), "MM", default="0.1"),
    Flag("-amorphous_density", BG, "amorphous sample density (g/cm^3)", apply_amorphous("density_g_cm3"),
         (nonneg("g/cm^3"),), "G_CM3", default="1"),
    Flag("-amorphous_MW", BG, "molecular weight of the amorphous material (g/mol)",
         apply_amorphous("molecular_weight_g_mol"), (pos("g/mol"),), "G_MOL", default="18"),
    Flag("-amorphous_molecules", BG, "molecules of amorphous material in the beam; replaces -amorphous_density",
         apply_amorphous("molecules"), (num(),), "N", default="from the density"),
    Flag("-water", BG, "edge of a water cube in the beam, giving a flat background (um)",
         setter("background.water_um"), (nonneg("um"),), "UM", default="0"),
)
