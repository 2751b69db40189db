"""In-process parity of the C and torch engines: compare images, geometry and every loop step."""
from .compare import GEOMETRY_ORDER, TRACE_ORDER, ParityReport, QuantityReport, Tolerance, compare

__all__ = ["compare", "ParityReport", "QuantityReport", "Tolerance", "TRACE_ORDER", "GEOMETRY_ORDER"]
