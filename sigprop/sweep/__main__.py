"""``python -m sigprop.sweep SPEC.toml --store RESULTS.zarr``: the sweep command on its own."""
import sys

from sigprop.sweep.command import main

if __name__ == "__main__":
    sys.exit(main())
