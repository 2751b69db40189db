"""Shared by every test folder: the helper modules beside this file (golden_cases, c_engine_support,
fuzz_cases, ...) are importable from the tests in tests/<part>/, and REPO / TESTS name the folders."""
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
