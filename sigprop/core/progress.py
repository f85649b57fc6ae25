"""Progress bars on standard error, with tqdm imported only when a bar is shown.

``progress_bar(total, enabled, **options)`` returns a ``tqdm`` bar when ``enabled``
and otherwise a silent stand-in with the same ``update``/``close`` methods and
context-manager protocol, so that a run without progress never imports tqdm.
"""
from __future__ import annotations

from typing import Any


class _Silent:
    """A bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        """Ignore ``n`` steps."""

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def progress_bar(total: int | None, enabled: bool, **options: Any) -> Any:
    """A tqdm bar over ``total`` steps if ``enabled``, else a silent one."""
    if not enabled:
        return _Silent()
    from tqdm.auto import tqdm
    return tqdm(total=total, **options)
