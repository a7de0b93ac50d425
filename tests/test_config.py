"""The server's settings: one table, from which flags, environment and README come."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import pytest

from wiretrace.cli import build_parser
from wiretrace.engine.config import EngineConfig
from wiretrace.errors import InvalidInput
from wiretrace.server.config import ENGINE_SETTINGS, SERVER_SETTINGS, ServerConfig
from wiretrace.settings import markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_tables_are_the_settings_table() -> None:
    text = README.read_text(encoding="utf-8")
    fix = "print them with: python -m wiretrace.server.config"
    assert markdown_table(SERVER_SETTINGS) in text, fix
    assert markdown_table(ENGINE_SETTINGS) in text, fix


def test_every_config_field_is_a_setting_with_a_flag() -> None:
    server = {f.name for f in fields(ServerConfig)} - {"engine"}
    assert {s.name for s in SERVER_SETTINGS} == server
    assert {s.name for s in ENGINE_SETTINGS} == {f.name for f in fields(EngineConfig)}
    assert not {s.name for s in SERVER_SETTINGS} & {s.name for s in ENGINE_SETTINGS}
    serve = build_parser().parse_args(["serve", "--num-perm", "32", "--workers", "2"])
    assert (serve.num_perm, serve.workers, serve.address) == ("32", "2", None)


def test_server_config_from_flags_and_environment() -> None:
    env = {"WIRETRACE_WORKERS": "3", "WIRETRACE_ADDRESS": "127.0.0.1:9999"}
    flags: dict[str, object] = {"address": "127.0.0.1:0", "min_match_tokens": "8"}
    config = ServerConfig.from_sources(flags, env)
    assert config.address == "127.0.0.1:0"  # the flag wins
    assert config.workers == 3
    assert config.engine.min_match_tokens == 8
    env_engine = ServerConfig.from_sources({}, {"WIRETRACE_CANDIDATE_THRESHOLD": "0.4"})
    assert env_engine.engine.candidate_threshold == 0.4
    assert isinstance(ServerConfig.from_sources({"data_dir": "x"}, {}).data_dir, Path)
    # Ingest workers: one a core this process may run on, unless told.
    assert ServerConfig().ingest_threads == len(os.sched_getaffinity(0))
    assert ServerConfig.from_sources({}, {"WIRETRACE_INGEST_WORKERS": "5"}).ingest_threads == 5


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        ({}, {"WIRETRACE_WORKERS": "many"}, "WIRETRACE_WORKERS"),
        ({}, {"WIRETRACE_SEED_THRESHOLD": "high"}, "--seed-threshold"),
        ({"address": "nowhere"}, {}, "HOST:PORT"),
        ({"max_text_chars": "5000000"}, {}, "max_message_bytes"),
        ({"num_perm": "8"}, {}, "num_perm must be in [16, 1024]"),
        ({"max_results": "20000"}, {}, "max_results must be <= 10000"),
        ({"log_level": "LOUD"}, {}, "log_level must be one of"),
        ({"ingest_workers": "-1"}, {}, "ingest_workers must be >= 0"),
    ],
)
def test_bad_settings_name_the_setting(
    flags: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        ServerConfig.from_sources(flags, env)
