"""The gradient-descent example recovers the true cell and distance (short run of examples/fit_cell_and_distance.py)."""
import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fit_cell_and_distance.py"


def load_example():
    spec = importlib.util.spec_from_file_location("fit_cell_and_distance", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_recovers_cell_and_distance():
    ex = load_example()
    result = ex.fit(iterations=30, verbose=False)
    # start: cell off by 0.2-0.3 A, distance by 0.8 mm; the fit must remove > 99.5 % of that
    for got, true in zip((result["a"], result["b"], result["c"]), ex.TRUE_CELL):
        assert abs(got - true) < 1e-3, result
    assert abs(result["distance_mm"] - ex.TRUE_DISTANCE) < 4e-3, result
    assert result["loss"] < 1e-6
