"""``python -m sigprop.cli``."""
import sys

from sigprop.cli.app import main

sys.exit(main())
