"""`bookshop --help` lists every command without importing the services' command groups."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from services.cli import SERVICE_COMMANDS, main
from services.shop import load


def test_the_listing_names_every_command_with_its_summary() -> None:
    result = CliRunner().invoke(main, ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for name, commands in SERVICE_COMMANDS.items():
        assert f"{name}  " in result.output
        assert commands.summary in result.output
    for name in ("up", "serve", "worker", "beat", "migrate"):
        assert f"  {name}  " in result.output


@pytest.mark.parametrize("name", sorted(SERVICE_COMMANDS))
def test_each_summary_is_the_groups_own_first_line(name: str) -> None:
    group = load(SERVICE_COMMANDS[name].target)
    assert isinstance(group, click.Group)
    assert SERVICE_COMMANDS[name].summary == group.get_short_help_str(limit=1000)


def test_the_listing_imports_no_service_commands() -> None:
    probe = (
        "import sys; from click.testing import CliRunner; from services.cli import main; "
        "CliRunner().invoke(main, ['--help']); "
        "print(sorted(m for m in sys.modules if m.startswith('services.') and m.endswith('cli')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "['services.cli']"


# What the commands need to do their work, never to describe themselves: together they took
# `bookshop catalogue --help` to seconds.
HEAVY_MODULES = (
    "onnxruntime",
    "wordllama",
    "tokenizers",
    "numpy",
    "bm25s",
    "litestar",
    "sqlalchemy",
    "advanced_alchemy",
    "alembic",
    "celery",
    "redis",
    "stripe",
)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["catalogue", "--help"],
        ["catalogue", "import", "--help"],
        ["catalogue", "import", "--bogus"],
        ["recommend", "--help"],
        ["recommend", "batch", "--help"],
        ["recommend", "batch"],
        ["checkout", "--help"],
        ["checkout", "show", "--help"],
        ["staff", "--help"],
        ["checkout", "show"],
    ],
    ids=" ".join,
)
def test_help_and_usage_errors_import_no_heavy_module(args: list[str]) -> None:
    probe = (
        "import json, sys; from click.testing import CliRunner; from services.cli import main; "
        "result = CliRunner().invoke(main, sys.argv[1:]); "
        f"heavy = sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules); "
        "print(json.dumps([result.exit_code, result.output, heavy]))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    )
    exit_code, output, heavy = json.loads(ran.stdout)
    # 0 for help, 2 for a usage error: anything else means the command group failed to load
    assert exit_code == (0 if "--help" in args else 2), output
    assert heavy == []
