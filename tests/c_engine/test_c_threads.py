"""Threads: concurrent runs from Python threads, thread-count independence,
progress reporting and cancellation."""
import threading

import numpy as np
import pytest

from golden_cases import case
from nanobrag.c_engine import CEngineError, engine
from c_engine_support import assert_float_image_matches, hand_built


def _config(name, tmp_path):
    return hand_built(name, tmp_path / name)


@pytest.mark.parametrize("name", ["phi_start0_quirk", "quirk_interpolate_switchoff"])
def test_result_does_not_depend_on_thread_count(tmp_path, name):
    """phi_start0_quirk has the phi carry-over, quirk_interpolate_switchoff the
    tricubic switch-off: both depend on the raster order in the legacy program."""
    cfg = _config(name, tmp_path)
    images = {n: engine.simulate(cfg, nthreads=n) for n in (1, 2, 3)}
    for n in (2, 3):
        assert np.array_equal(images[n].float_image, images[1].float_image)
        assert images[n].interpolation_switchoff_pixel == images[1].interpolation_switchoff_pixel
        assert images[n].omega_sum == images[1].omega_sum
    assert_float_image_matches(images[1].float_image, case(name).float_image(), name)


def test_four_python_threads_at_once_give_identical_results(tmp_path):
    cfg = _config("quirk_interpolate_switchoff", tmp_path)
    reference = engine.simulate(cfg, nthreads=1).float_image
    results, errors = [None] * 4, []
    barrier = threading.Barrier(4)

    def work(i):
        try:
            barrier.wait()
            results[i] = engine.simulate(cfg, nthreads=2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for r in results:
        assert np.array_equal(r.float_image, reference)
        assert sum("out of range" in w for w in r.warnings) == 1  # each run has its own log


def test_progress_reports_from_one_thread_and_reaches_total(tmp_path):
    cfg = _config("cubic_default_F", tmp_path)
    calls = []
    caller = threading.get_ident()

    def progress(done, total):
        calls.append((done, total, threading.get_ident()))
        return False

    engine.simulate(cfg, nthreads=2, progress=progress)
    assert calls, "progress was never called"
    assert {c[2] for c in calls} == {caller}
    total = 128 * 128
    assert all(c[1] == total for c in calls)
    assert calls[-1][0] == total
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_progress_returning_true_cancels(tmp_path):
    cfg = _config("cubic_default_F", tmp_path)
    with pytest.raises(CEngineError, match="cancelled"):
        engine.simulate(cfg, nthreads=2, progress=lambda done, total: True)


def test_keyboard_interrupt_in_progress_cancels_and_is_reraised(tmp_path):
    cfg = _config("cubic_default_F", tmp_path)

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.simulate(cfg, nthreads=2, progress=interrupt)
    # the library is still usable afterwards
    assert engine.simulate(cfg, nthreads=1).float_image.max() > 0
