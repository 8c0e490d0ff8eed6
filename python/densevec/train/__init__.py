"""The training floor: :class:`Trainer` and :class:`ModelState` (see ``_base``)."""
from densevec.train._base import ModelState, Trainer

__all__ = ["ModelState", "Trainer"]
