"""borrower_typing: which kind of borrower a Chinese loan-collection note shows, and how to handle them.

    from borrower_typing import load_model
    model = load_model()                      # models/borrower-typing, or a models:/ or runs:/ URI
    model.predict(["客户称下周五一定还，这已经是第三次改期了"])[0].type   # 'serial_promiser'

Attributes load lazily so that ``import borrower_typing`` costs nothing until a model is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Prediction", "TypingModel", "load_model"]

if TYPE_CHECKING:
    from .model import Prediction, TypingModel
    from .predict import load_model


def __getattr__(name: str) -> Any:
    if name == "load_model":
        from .predict import load_model

        return load_model
    if name in ("Prediction", "TypingModel"):
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module 'borrower_typing' has no attribute {name!r}")
