"""wiretrace: finds copied and reworded passages between news articles.

The public API is exactly what this module exports (``tests/test_api.py`` guards it).
"""

from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector, Document, Kind, Match
from wiretrace.errors import Conflict, InvalidInput, NotFound, TooLarge, WiretraceError

__version__ = "0.1.0"

__all__ = [
    "Conflict",
    "Detector",
    "Document",
    "EngineConfig",
    "InvalidInput",
    "Kind",
    "Match",
    "NotFound",
    "TooLarge",
    "WiretraceError",
    "__version__",
]
