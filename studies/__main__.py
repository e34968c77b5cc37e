"""`python -m studies COMMAND ...`: build, audit and preview study bundles; analyse and plan reader studies."""

import sys

from studies.cli import main

if __name__ == "__main__":
    sys.exit(main())
