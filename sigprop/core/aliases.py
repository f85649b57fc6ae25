"""Type aliases shared by the public signatures."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

#: What ``numpy.random.default_rng`` accepts as a seed.
Seed = int | np.integer | Sequence[int] | np.random.SeedSequence | np.random.Generator | None

__all__ = ["ArrayLike", "DTypeLike", "Seed"]
