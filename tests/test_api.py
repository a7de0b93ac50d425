from __future__ import annotations

import re
from typing import Any

import pytest

import wiretrace
from wiretrace import EngineConfig, InvalidInput


def test_public_api_is_exactly_what_init_exports() -> None:
    assert sorted(wiretrace.__all__) == [
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


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_perm": 8}, "num_perm must be in [16, 1024]"),
        ({"lsh_threshold": 0.0}, "lsh_threshold must be in (0.0, 1.0]"),
        ({"extend_threshold": 0.9}, "extend_threshold (0.9) must not exceed seed_threshold"),
        ({"min_match_tokens": 0}, "min_match_tokens must be >= 1"),
        ({"min_reworded_tokens": 2}, "min_reworded_tokens (2) must be >= min_match_tokens"),
        ({"max_unit_tokens": 5}, "max_unit_tokens must be at least twice min_unit_tokens"),
        ({"edge_cut": 2.0}, "edge_cut must be in [0.0, 1.0]"),
    ],
)
def test_config_validation_names_the_bad_value(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        EngineConfig(**kwargs)
