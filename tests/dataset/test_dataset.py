"""nanobrag.dataset: descriptions, per-shot draws, execution on dask, resume, NXmx output, ground truth.

Tiny detectors (24 x 24 pixels, N <= 4) keep the module to about a minute on two
cores; the cluster test starts a real LocalCluster of two worker processes.
"""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest

import nanobrag
from nanobrag import Config
from nanobrag import dataset as D
from nanobrag.dataset.variation import misset_rotation, random_misset_deg

BASE = ("-cell 70 80 90 90 90 90 -default_F 100 -lambda 1.0 -distance 60 -detpixels 24 -pixel 0.5 "
        "-mosaic_domains 2 -Xbeam 6.0 -Ybeam 6.1 -engine torch")

STILLS = f"""
[base]
args = "{BASE}"
[dataset]
kind = "stills"
shots = 32
seed = 11
shots_per_chunk = 4
[vary]
orientation = "random"
n_cells = [2, 4]
mosaic_spread_deg = [0.1, 0.4]
fluence_rel_sigma = 0.3
wavelength_rel_sigma = 0.002
distance_sigma_mm = 0.5
beam_center_sigma_mm = 0.1
"""


def write_spec(folder: Path, text: str, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def frames(out: Path) -> np.ndarray:
    with h5py.File(out / "master.h5", "r") as f:
        return f["entry/data/data"][()]


def metadata(out: Path) -> dict:
    with h5py.File(out / "master.h5", "r") as f:
        return {k: v[()] for k, v in f["entry/sample/frame_metadata"].items()}


@pytest.fixture(scope="module")
def stills(tmp_path_factory):
    """The 32-shot description rendered serially (in this process, no dask)."""
    folder = tmp_path_factory.mktemp("stills")
    spec = D.load_spec(write_spec(folder, STILLS))
    report = D.run(spec, folder / "serial", workers=0, progress=False)
    assert report.computed == list(range(8))
    return spec, folder / "serial"


# ---- the description ------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"dataset": {"shots": 0}}, "[dataset] shots must be an integer >= 1"),
    ({"dataset": {"shots": 2, "color": 1}}, "unknown key(s) color in [dataset]"),
    ({"vary": {"orientation": "spin"}}, "[vary] orientation must be one of 'fixed', 'random'"),
    ({"vary": {"n_cells": [5, 2]}}, "[vary] n_cells must be [min, max]"),
    ({"dataset": {"shots": 2, "kind": "rotation"}}, "osc_deg must be > 0"),
    ({"base": {"args": BASE + " -misset 1 2 3"}, "vary": {"orientation": "random"}}, "[base] args give -misset"),
    ({"base": {"args": BASE + " -N 3"}, "vary": {"n_cells": [1, 2]}}, "[base] args give -N"),
    ({"base": {"args": "-cell 70 80 90 90 90 90 -default_F 1"}, "vary": {"beam_center_sigma_mm": 0.1}},
     "needs -Xbeam and -Ybeam"),
    ({"base": {"args": BASE + " -distance abc"}}, "[base] args: -distance expects a number (mm), got 'abc'"),
    ({"output": {"image": "jpeg"}}, "[output] image must be one of 'float', 'noise'"),
    ({"extra": {}}, "unknown section(s) [extra]"),
])
def test_bad_descriptions_name_the_key(change, message):
    data = {"base": {"args": BASE}, "dataset": {"shots": 2}}
    for section, keys in change.items():
        data.setdefault(section, {}).update(keys)
    with pytest.raises(D.SpecError) as info:
        D.spec_from_dict(data)
    assert message in str(info.value)
    assert isinstance(info.value, nanobrag.ConfigError)


def test_missing_or_malformed_toml_file(tmp_path):
    with pytest.raises(D.SpecError, match="cannot read it"):
        D.load_spec(tmp_path / "absent.toml")
    with pytest.raises(D.SpecError, match="not valid TOML"):
        D.load_spec(write_spec(tmp_path, "[base\nargs = 1"))


# ---- per-shot draws -------------------------------------------------------------------------------

def test_draws_depend_only_on_seed_shot_and_quantity(stills):
    spec, _ = stills
    forward = [D.shot_parameters(spec, i) for i in range(spec.shots)]
    backward = [D.shot_parameters(spec, i) for i in reversed(range(spec.shots))][::-1]
    assert forward == backward
    assert len({p.misset_deg for p in forward}) == spec.shots  # every shot its own orientation
    # switching another variation off leaves the orientation and fluence draws alone
    data = {"base": {"args": BASE}, "dataset": {"shots": 32, "seed": 11, "shots_per_chunk": 4},
            "vary": {"orientation": "random", "fluence_rel_sigma": 0.3}}
    fewer = D.spec_from_dict(data)
    for i in (0, 17, 31):
        p, q = forward[i], D.shot_parameters(fewer, i)
        assert (q.misset_deg, q.fluence_photons_per_m2) == (p.misset_deg, p.fluence_photons_per_m2)
        assert q.n_cells is None and q.distance_mm is None
    data["dataset"]["seed"] = 12
    assert D.shot_parameters(D.spec_from_dict(data), 0).misset_deg != forward[0].misset_deg


def test_random_orientations_are_uniform_on_so3():
    """Haar measure: E[R] = 0 and E[R_ij^2] = 1/3 for every entry.

    Tolerance: with 20000 draws the standard error of each mean is below
    sqrt(1/3 / 20000) = 0.0041; 0.02 is five of them.
    """
    rng = np.random.Generator(np.random.PCG64(2024))
    rs = np.array([misset_rotation(random_misset_deg(rng)) for _ in range(20000)])
    assert np.abs(rs.mean(axis=0)).max() < 0.02
    assert np.abs((rs ** 2).mean(axis=0) - 1.0 / 3.0).max() < 0.02
    assert np.allclose(np.einsum("nij,nkj->nik", rs, rs), np.eye(3), atol=1e-12)


def test_misset_rotation_is_the_engines(stills):
    """The stored rotation maps the unrotated reciprocal cell onto the engine's (1e-12: double rounding)."""
    spec, out = stills
    meta = metadata(out)
    plain = nanobrag.simulate(Config.from_args(shlex.split(BASE) + ["-N", "2"]))
    start = np.array([plain.geometry.a_star_per_A, plain.geometry.b_star_per_A, plain.geometry.c_star_per_A])
    for k in (0, 9, 31):
        rotated = meta["misset_rotation"][k] @ start.T
        assert np.allclose(rotated.T, meta["reciprocal_cell_lab_per_A"][k], rtol=0, atol=1e-12)


# ---- execution ------------------------------------------------------------------------------------

def test_local_cluster_equals_the_serial_run_bit_for_bit(stills, tmp_path):
    distributed = pytest.importorskip("distributed")
    spec, serial = stills
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        report = D.run(spec, tmp_path / "cluster", client=client, progress=False)
        pids = {s for s in client.run(os.getpid).values()}
        # the same cluster by its address; a shot does not depend on how many shots the set has
        data = tomllib.loads(STILLS)
        data["dataset"]["shots"] = 6
        D.run(D.spec_from_dict(data), tmp_path / "by_address", scheduler=cluster.scheduler_address, progress=False)
        # a worker killed mid-run: its chunk is computed again elsewhere, with the same bytes
        killed = []

        def kill_the_other_worker(chunk, summary):
            if not killed:
                victim = next(p for p in pids if p != summary["pid"])
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        data["dataset"]["shots"] = 8
        data["dataset"]["shots_per_chunk"] = 1
        D.run(D.spec_from_dict(data), tmp_path / "killed", client=client, progress=False, on_chunk=kill_the_other_worker)
    assert killed
    assert np.array_equal(frames(tmp_path / "by_address"), frames(serial)[:6])
    assert np.array_equal(frames(tmp_path / "killed"), frames(serial)[:8])
    assert sorted(report.computed) == list(range(8))
    assert np.array_equal(frames(tmp_path / "cluster"), frames(serial))
    a, b = metadata(tmp_path / "cluster"), metadata(serial)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert len(pids) == 2 and os.getpid() not in pids


KILL_SCRIPT = """
import os, signal, sys
from nanobrag import dataset as D
def stop(chunk, summary):
    if chunk.index == 2:
        os.kill(os.getpid(), signal.SIGKILL)
D.run(sys.argv[1], sys.argv[2], workers=0, progress=False, on_chunk=stop)
"""


def test_killed_run_resumes_without_recomputing_finished_chunks(stills, tmp_path):
    spec, serial = stills
    spec_path = Path(spec.base_dir) / "spec.toml"
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(spec_path), str(out)], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["chunks"]) == ["0", "1", "2"]
    assert not (out / "master.h5").exists()
    assert D.dataset_status(out)["missing_chunks"] == [3, 4, 5, 6, 7]
    # what a kill can leave: a temporary file, and a chunk file the manifest does not list
    (out / ".chunk_00003.h5.0123456789ab.tmp").write_bytes(b"partial")
    (out / "chunk_00003.h5").write_bytes((out / "chunk_00000.h5").read_bytes()[:1000])
    # and a listed chunk damaged afterwards is not trusted either
    damaged = bytearray((out / "chunk_00001.h5").read_bytes())
    damaged[-10] ^= 0xFF
    (out / "chunk_00001.h5").write_bytes(bytes(damaged))
    kept = {i: (out / f"chunk_0000{i}.h5").stat().st_mtime_ns for i in (0, 2)}

    report = D.run(spec, out, workers=0, progress=False)
    assert report.skipped == [0, 2]
    assert sorted(report.computed) == [1, 3, 4, 5, 6, 7]
    assert {i: (out / f"chunk_0000{i}.h5").stat().st_mtime_ns for i in (0, 2)} == kept
    assert not list(out.glob(".*.tmp"))
    assert np.array_equal(frames(out), frames(serial))
    again = D.run(spec, out, workers=0, progress=False)
    assert again.computed == [] and again.skipped == list(range(8))


def test_changed_description_is_refused(stills, tmp_path):
    spec, serial = stills
    data = tomllib.loads(STILLS)
    data["dataset"]["seed"] = 12
    changed = D.spec_from_dict(data)
    before = sorted(p.name for p in serial.iterdir())
    with pytest.raises(D.DescriptionChanged, match="another description"):
        D.run(changed, serial, workers=0, progress=False)
    assert sorted(p.name for p in serial.iterdir()) == before
    # a folder that is not a dataset folder is not written into
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(D.SpecError, match="not a dataset folder"):
        D.run(changed, tmp_path / "other", workers=0, progress=False)
    assert os.listdir(tmp_path / "other") == ["notes.txt"]
    # an input file's contents are part of the description
    hkl = tmp_path / "f.hkl"
    hkl.write_text("0 0 1 100\n")
    text = f'[base]\nargs = "{BASE} -hkl f.hkl"\n[dataset]\nshots = 1\n'
    first = D.load_spec(write_spec(tmp_path, text))
    hkl.write_text("0 0 1 200\n")
    assert D.load_spec(tmp_path / "spec.toml").digest != first.digest


# ---- output ---------------------------------------------------------------------------------------

def test_frames_read_back_with_plain_h5py_and_hdf5plugin(stills):
    """The default chunk compression is bitshuffle-LZ4 (filter 32008, the Eiger convention): a
    process that imports only h5py and hdf5plugin -- not nanobrag -- reads the frames through the
    master file's virtual dataset, equal to what this process reads."""
    spec, out = stills
    with h5py.File(out / "master.h5", "r") as f:
        expected = f["entry/data/data"][()]
    chunk_files = sorted(p for p in out.iterdir() if p.name.startswith("chunk") and p.suffix == ".h5")
    with h5py.File(chunk_files[0], "r") as f:
        assert "32008" in f["entry/data/data"]._filters  # bitshuffle (h5py names plugin filters by id)
    code = ("import sys, h5py, hdf5plugin, numpy as np\n"
            "f = h5py.File(sys.argv[1], 'r'); d = f['entry/data/data'][()]\n"
            "np.save(sys.argv[2], d)\n")
    subprocess.run([sys.executable, "-c", code, str(out / "master.h5"), str(out.parent / "plain.npy")], check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert np.array_equal(np.load(out.parent / "plain.npy"), expected)
    assert expected.shape == (32, 24, 24) and expected.max() > 0


def test_master_file_reads_back_with_nxmx(stills):
    nxmx = pytest.importorskip("nxmx")
    spec, out = stills
    with h5py.File(out / "master.h5", "r") as f:
        entry = nxmx.NXmx(f).entries[0]
        assert entry.definition == "NXmx"
        detector = entry.instruments[0].detectors[0]
        assert detector.data.shape == (32, 24, 24)
        assert entry.samples[0].depends_on is None  # stills: depends_on "."
        wavelengths = entry.instruments[0].beams[0].incident_wavelength.to("angstrom").magnitude
        assert f["entry/data/data"].is_virtual
        meta = {k: v[()] for k, v in f["entry/sample/frame_metadata"].items()}
    rows = D.read_ground_truth(out)
    assert len(wavelengths) == len(rows) == 32
    assert [int(r["shot"]) for r in rows] == list(meta["shot_index"]) == list(range(32))
    # the engine's wavelength in m, back in Angstrom: equal to the drawn value to a few ulp
    assert np.allclose(wavelengths, [float(r["wavelength_A"]) for r in rows], rtol=1e-15, atol=0)
    # degrees -> radians in the engine -> degrees here: equal to a few ulp
    assert np.allclose(meta["misset_deg"], [[float(r[f"misset_{a}_deg"]) for a in "xyz"] for r in rows],
                       rtol=1e-14, atol=1e-12)
    assert np.allclose(meta["misset_rotation"],
                       [misset_rotation([float(r[f"misset_{a}_deg"]) for a in "xyz"]) for r in rows], atol=1e-12)
    assert list(meta["n_cells"][:, 0]) == [int(r["n_cells"]) for r in rows]
    assert list(meta["mosaic_seed"]) == [int(r["mosaic_seed"]) for r in rows]
    assert np.array_equal(meta["fluence_photons_per_m2"], [float(r["fluence_photons_per_m2"]) for r in rows])
    for name in ("crystal_size_um", "noise_seed", "distance_mm"):
        assert len(meta[name]) == 32


def test_a_ground_truth_row_rebuilds_its_frame(stills, tmp_path):
    spec, out = stills
    rows = D.read_ground_truth(out)
    stored = frames(out)
    row = rows[21]
    config = Config.from_args(list(spec.base_args) + shlex.split(row["shot_args"]), cwd=spec.base_dir)
    assert np.array_equal(nanobrag.simulate(config).float_image, stored[21])
    assert np.array_equal(nanobrag.simulate(D.shot_config(spec, 13)).float_image, stored[13])
    # one nanobrag command line, as `nanobrag-dataset shot` prints it
    shown = subprocess.run([sys.executable, "-m", "nanobrag.dataset", "shot", str(Path(spec.base_dir) / "spec.toml"), "5"],
                           capture_output=True, text=True, check=True).stdout
    argv = shlex.split(shown.split("&&", 1)[1])
    assert argv[0] == "nanobrag" and argv[1:] == D.shot_command(spec, 5)[1:]
    image = tmp_path / "shot5.bin"
    subprocess.run([sys.executable, "-m", "nanobrag.cli", *argv[1:], "-floatfile", str(image), "-nopgm", "-nonoise",
                    "-intfile", str(tmp_path / "shot5.img"), "-noprogress"],
                   cwd=spec.base_dir, check=True, capture_output=True)
    assert np.array_equal(np.fromfile(image, dtype="<f4").reshape(24, 24), stored[5])


def test_rotation_series_has_one_angle_per_frame(tmp_path):
    nxmx = pytest.importorskip("nxmx")
    text = f"""
    [base]
    args = "{BASE} -N 3 -misset 10 20 30 -phisteps 2"
    [dataset]
    kind = "rotation"
    shots = 5
    shots_per_chunk = 2
    phi0_deg = 10.0
    osc_deg = 0.5
    """
    spec = D.load_spec(write_spec(tmp_path, text))
    D.run(spec, tmp_path / "rot", workers=0, progress=False)
    with h5py.File(tmp_path / "rot" / "master.h5", "r") as f:
        sample = nxmx.NXmx(f).entries[0].samples[0]
        axis = sample.depends_on
        assert axis.transformation_type == "rotation"
        angles = axis[()].to("degree").magnitude
        stack = f["entry/data/data"][()]
    assert np.array_equal(angles, 10.0 + 0.5 * np.arange(5))
    assert stack.shape == (5, 24, 24)
    assert not np.array_equal(stack[0], stack[4])  # the crystal turned
    assert np.array_equal(stack[3], nanobrag.simulate(D.shot_config(spec, 3)).float_image)
    assert D.shot_args(spec, 3) == ["-phi", "11.5", "-osc", "0.5"]


def test_noise_images_use_each_shots_seed_and_the_roi_is_masked(tmp_path):
    text = f"""
    [base]
    args = "{BASE} -N 2 -roi 0 19 0 23"
    [dataset]
    shots = 3
    shots_per_chunk = 3
    [vary]
    orientation = "random"
    [output]
    image = "noise"
    """
    spec = D.load_spec(write_spec(tmp_path, text))
    D.run(spec, tmp_path / "noise", workers=0, progress=False)
    stored = frames(tmp_path / "noise")
    with h5py.File(tmp_path / "noise" / "master.h5", "r") as f:
        # fast pixels 20..23 are outside -roi: marked in the pixel mask (bit 8), as `nanobrag -nxmx` does
        mask = f["entry/instrument/detector/pixel_mask"][()]
    assert mask.shape == (24, 24) and np.all(mask[:, 20:] == 256) and np.all(mask[:, :20] == 0)
    assert stored.dtype == np.int32
    for i in range(3):
        result = nanobrag.simulate(D.shot_config(spec, i))
        assert np.array_equal(result.noise_image(), stored[i])
    assert "-seed" in D.shot_args(spec, 0)


# ---- the command ----------------------------------------------------------------------------------

def test_command_run_status_and_refusal(tmp_path):
    text = f'[base]\nargs = "{BASE} -N 2"\n[dataset]\nshots = 3\nshots_per_chunk = 2\n'
    spec_path = write_spec(tmp_path, text)
    command = [sys.executable, "-m", "nanobrag.dataset"]
    done = subprocess.run(command + ["run", str(spec_path), "--out", str(tmp_path / "o"), "--workers", "0"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "2 chunk(s) rendered" in done.stdout
    assert "3/3 shots" in done.stderr and "shots/s" in done.stderr and "ETA" in done.stderr
    status = subprocess.run(command + ["status", str(tmp_path / "o")], capture_output=True, text=True)
    assert status.returncode == 0 and "complete" in status.stdout and "shots: 3/3" in status.stdout
    spec_path.write_text(text.replace("shots = 3", "shots = 4"))
    refused = subprocess.run(command + ["run", str(spec_path), "--out", str(tmp_path / "o"), "--workers", "0"],
                             capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr.startswith("nanobrag-dataset: error:") and "another description" in refused.stderr


def test_sase_spectrum_per_shot(tmp_path):
    nxmx = pytest.importorskip("nxmx")
    text = f"""
    [base]
    args = "{BASE} -N 2"
    [dataset]
    shots = 3
    shots_per_chunk = 2
    [vary]
    orientation = "random"
    spectrum = "sase"
    spectrum_spikes = 3
    spectrum_bandwidth_percent = 0.5
    """
    spec = D.load_spec(write_spec(tmp_path, text))
    D.run(spec, tmp_path / "sase", workers=0, progress=False)
    stored = frames(tmp_path / "sase")
    rows = D.read_ground_truth(tmp_path / "sase")
    with h5py.File(tmp_path / "sase" / "master.h5", "r") as f:
        beam = nxmx.NXmx(f).entries[0].instruments[0].beams[0]
        spectra = beam.incident_wavelength.to("angstrom").magnitude
        weights = f["entry/instrument/beam/incident_wavelength_weights"][()]
    assert spectra.shape == weights.shape == (3, 3)
    assert np.array_equal(spectra, [[float(x) for x in r["spectrum_A"].split()] for r in rows])
    assert len({tuple(s) for s in spectra}) == 3  # each shot its own spectrum
    # 0.5 % FWHM around 1 Angstrom: sigma = 0.0021 A; 0.02 A is over nine sigma
    assert np.abs(spectra - 1.0).max() < 0.02
    assert np.array_equal(nanobrag.simulate(D.shot_config(spec, 2)).float_image, stored[2])
    # the command line: `nanobrag-dataset shot` writes the shot's -sourcefile and prints the command
    sources = tmp_path / "s2.txt"
    shown = subprocess.run([sys.executable, "-m", "nanobrag.dataset", "shot", str(tmp_path / "spec.toml"), "2",
                            "--sources-file", str(sources)], capture_output=True, text=True, check=True).stdout
    argv = shlex.split(shown.split("&&", 1)[1])
    assert argv[-2:] == ["-sourcefile", str(sources)]
    config = Config.from_args(argv[1:], cwd=spec.base_dir)
    assert np.array_equal(nanobrag.simulate(config).float_image, stored[2])
    with pytest.raises(D.SpecError, match="gives each shot its own source list"):
        D.spec_from_dict({"base": {"args": BASE + " -dispersion 0.1"}, "dataset": {"shots": 1},
                          "vary": {"spectrum": "sase"}})


def test_local_cluster_size_shares_the_cores(monkeypatch):
    import nanobrag.dataset.execute as execute

    spec = D.spec_from_dict({"base": {"args": BASE}, "dataset": {"shots": 1}})
    monkeypatch.setattr(execute, "_cores", lambda: 16)
    assert D.local_cluster_size(spec) == (16, 1)
    assert D.local_cluster_size(spec, 4) == (4, 4)
    assert D.local_cluster_size(spec, 32) == (32, 1)


@pytest.mark.parametrize("name", ["dataset_stills.toml", "dataset_rotation.toml"])
def test_example_descriptions_are_valid(name):
    spec = D.load_spec(Path(__file__).resolve().parents[2] / "examples" / name)
    assert spec.shots > 100 and spec.vary.orientation == "random"
    assert D.shot_config(spec, spec.shots - 1).crystal.misset_deg is not None


def test_detector_response_and_amorphous_background_switch_on_per_run(tmp_path):
    """The base arguments carry the detector response and the amorphous background: every shot has them."""
    # a made-up smooth F(stol) table (electrons per molecule against sin(theta)/lambda in 1/A)
    stol = np.linspace(0.0, 1.0, 21)
    np.savetxt(tmp_path / "bg.stol", np.column_stack([stol, 8.0 * np.exp(-4.0 * stol ** 2) + 1.0]))
    extras = "-amorphous_stol bg.stol -amorphous_thick 0.05 -psf gauss -psf_fwhm 400 -readout_noise 2"
    text = f"""
    [base]
    args = "{BASE} -N 2 {extras}"
    [dataset]
    shots = 2
    shots_per_chunk = 2
    [vary]
    orientation = "random"
    [output]
    image = "noise"
    """
    spec = D.load_spec(write_spec(tmp_path, text))
    D.run(spec, tmp_path / "out", workers=0, progress=False)
    stored = frames(tmp_path / "out")
    for i in range(2):
        config = D.shot_config(spec, i)
        assert config.amorphous is not None and config.response.active()
        assert np.array_equal(nanobrag.simulate(config).noise_image(), stored[i])
    # without the extras the same shot differs (the background and the response did act)
    plain = Config.from_args(list(spec.base_args[: -len(extras.split())]) + D.shot_args(spec, 0), cwd=spec.base_dir)
    assert not np.array_equal(nanobrag.simulate(plain).noise_image(), stored[0])
