"""nanobrag: absolute-scale X-ray diffraction images of small crystals.

Two engines of the nanoBragg physics share one :class:`Config`:
the C engine (``engine="c"``, the legacy program's behaviour as a reentrant
library) and the torch engine (``engine="torch"``, vectorized and
differentiable on CPU or CUDA).
"""
from .config import (
    BackgroundConfig,
    BeamConfig,
    Config,
    ConfigError,
    CrystalConfig,
    DetectorConfig,
    DetectorResponseConfig,
    OutputConfig,
    SamplingConfig,
    StructureFactorConfig,
)
from .tables import AmorphousTable, SourceTable, StructureFactorTable
from .results import Geometry, SimulationResult
from .api import simulate, trace
from . import validation  # installs the checks of Config.validate
from . import legacy_flags  # installs the parser of Config.from_args

from ._version import __version__

__all__ = [
    "Config",
    "ConfigError",
    "CrystalConfig",
    "StructureFactorConfig",
    "BeamConfig",
    "DetectorConfig",
    "DetectorResponseConfig",
    "SamplingConfig",
    "BackgroundConfig",
    "OutputConfig",
    "StructureFactorTable",
    "SourceTable",
    "AmorphousTable",
    "Geometry",
    "SimulationResult",
    "simulate",
    "trace",
    "__version__",
]
