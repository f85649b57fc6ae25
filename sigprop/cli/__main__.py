"""``python -m sigprop.cli``: the program, as the console script runs it (:mod:`sigprop.cli._console`)."""
import sys

from sigprop.cli._console import main

sys.exit(main())
