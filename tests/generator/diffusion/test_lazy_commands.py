"""`python -m generator --help` answers at once: registering the commands imports neither torch nor transformers."""

import subprocess
import sys


def test_the_command_line_registers_its_commands_without_importing_torch():
    code = (
        "import sys, argparse\n"
        "from generator.__main__ import COMMAND_GROUPS\n"
        "sub = argparse.ArgumentParser().add_subparsers()\n"
        "[group.register(sub) for group in COMMAND_GROUPS]\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
