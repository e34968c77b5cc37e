"""The pinned install runs every command and benchmark: each import they make, also inside functions, resolves."""

import argparse
import ast
import importlib
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS
from generator.__main__ import build_parser as generator_parser
from studies.cli import build_parser as studies_parser

ROOT = Path(__file__).resolve().parents[1]
COMMAND_MODULES = sorted(
    str(path.relative_to(ROOT).with_suffix("")).replace("/", ".")
    for pattern in ("generator/**/*.py", "studies/**/*.py", "contracts/*.py", "bench/*.py", "demo/*.py")
    for path in ROOT.glob(pattern)
)


def _imported_modules(module: str) -> set[str]:
    """Every module an import statement of `module` names, at the top level or inside a function."""
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_every_import_of_a_command_or_benchmark_module_resolves(module):
    for name in sorted(_imported_modules(module)):
        importlib.import_module(name)


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_every_benchmark_module_imports(name):
    importlib.import_module(BENCHMARKS[name][0])


def test_monais_diffusion_unet_builds_with_its_optional_einops():
    """bench unet-attention compares against MONAI's DiffusionModelUNet, whose attention needs einops."""
    from monai.networks.nets import DiffusionModelUNet

    net = DiffusionModelUNet(
        spatial_dims=3,
        in_channels=1,
        out_channels=1,
        channels=(8, 8),
        attention_levels=(False, True),
        num_res_blocks=1,
        num_head_channels=8,
        norm_num_groups=8,
    )
    assert sum(p.numel() for p in net.parameters()) > 0


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                for option in sub._actions:
                    if option.option_strings and not isinstance(option, argparse._HelpAction):
                        yield command, option


@pytest.mark.parametrize("build", [generator_parser, studies_parser], ids=["generator", "studies"])
def test_every_command_line_option_has_help_that_shows_its_default(build):
    parser = build()
    missing = [f"{command} {option.option_strings[0]}" for command, option in _options(parser) if not option.help]
    assert missing == []
    for command, option in _options(parser):
        shown = parser._subparsers._group_actions[0].choices[command].formatter_class("x")._get_help_string(option)
        if option.default not in (None, False, argparse.SUPPRESS):
            assert "default" in shown, f"{command} {option.option_strings[0]}"


@pytest.mark.parametrize(
    "path",
    sorted(
        str(p.relative_to(ROOT)) for g in ("bench/*.py", "demo/*.py", "platform/**/commands/*.py") for p in ROOT.glob(g)
    ),
)
def test_every_option_of_a_benchmark_the_demo_or_a_management_command_has_help(path):
    """Their parsers are built inside main(), so the option calls are read from the source."""
    missing = []
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument" and node.args:
            first = node.args[0]
            named = isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("-")
            if named and "help" not in {keyword.arg for keyword in node.keywords}:
                missing.append(f"line {node.lineno}: {first.value}")
    assert missing == []
