"""Progress bars (tqdm) fed from the C++ workers' polling callbacks."""
from __future__ import annotations

from typing import Callable, Optional

from tqdm.auto import tqdm


class ByteProgress:
    """A progress bar over a known total, updated from cumulative counts.

    ``callback`` is ``None`` when disabled, so the C++ side skips the call.
    """

    def __init__(self, total: int, desc: str, enabled: bool = True, unit: str = "B",
                 unit_scale: bool = True):
        self._bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale,
                         leave=False, dynamic_ncols=True) if enabled else None
        self._done = 0

    @property
    def callback(self) -> Optional[Callable[..., None]]:
        return self.update if self._bar is not None else None

    def update(self, done: int, *extra: float) -> None:
        if self._bar is None:
            return
        if done > self._done:
            self._bar.update(done - self._done)
            self._done = done
        if extra:
            self._bar.set_postfix_str(f"alpha={extra[0]:.5f}", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "ByteProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
