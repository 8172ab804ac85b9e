"""Process-wide tuning of a bot process: what it costs per update and how long it stalls.

- ``keep_response_types``: aiogram validates every Bot API answer with ``Response[T]``; pydantic
  keeps those generic classes only weakly, so after a garbage collection the next call rebuilds
  the class (about 3 ms instead of 0.03 ms). Each ``Response[T]`` is kept once built.
- ``tune_gc`` / ``freeze_heap``: the classifier, the legal FAQ index, aiogram's and pydantic's
  schemas are hundreds of thousands of long-lived objects that a full (generation 2) collection
  walks every time (a 300–500 ms stall every ~1,400 updates). After start-up they are moved out
  of the collector's sight (``gc.freeze``), and the young generation is collected less often.
- ``warm_up``: loading the classifier (with jieba's dictionary) and the legal FAQ takes seconds;
  done in a worker thread at start-up, so neither the first update nor the first free text
  waits for it, then the heap is frozen.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

GC_THRESHOLDS = (20_000, 20, 50)  # CPython's default is (700, 10, 10)
WARM_UP_TEXT = "邻居占了我家的地，还打人，我想咨询一下法律怎么规定"

_response_types: dict[Any, Any] = {}
_lock = threading.Lock()


def keep_response_types() -> None:
    """Make ``aiogram.methods.base.Response[T]`` build each class once per process (idempotent)."""
    from aiogram.methods.base import Response

    if getattr(Response.__class_getitem__, "_keeps_types", False):
        return
    original = Response.__class_getitem__.__func__  # type: ignore[attr-defined]

    def class_getitem(cls: Any, params: Any) -> Any:
        if cls is not Response:
            return original(cls, params)
        try:
            return _response_types[params]
        except KeyError:
            pass
        except TypeError:  # an unhashable parameter: no caching
            return original(cls, params)
        built = original(cls, params)
        with _lock:
            _response_types.setdefault(params, built)
        return built

    class_getitem._keeps_types = True  # type: ignore[attr-defined]
    Response.__class_getitem__ = classmethod(class_getitem)  # type: ignore[assignment,method-assign]


def tune_gc() -> None:
    """Collect the young generation less often (fewer, equally short pauses)."""
    gc.set_threshold(*GC_THRESHOLDS)


def freeze_heap() -> None:
    """Move everything alive now (code, rules, indexes, schemas) out of the collector's sight."""
    gc.collect()
    gc.freeze()
    log.info("start-up heap frozen: %s objects left out of collections", gc.get_freeze_count())


def _load_everything() -> None:
    """The lazy loads a first message would otherwise wait for (runs in a worker thread)."""
    import classifier
    import knowledge_base

    classifier.classify(WARM_UP_TEXT)  # rules + jieba's dictionary
    classifier.assess_risk(WARM_UP_TEXT)
    knowledge_base.preload()
    knowledge_base.consult(WARM_UP_TEXT)


async def warm_up() -> None:
    """Load the classifier and the legal FAQ in a worker thread, then freeze the heap.

    The event loop keeps taking updates meanwhile (the first ones may wait for the lock inside
    the classifier, never for the whole load); a failure is logged, the lazy load still works.
    """
    try:
        await asyncio.get_running_loop().run_in_executor(None, _load_everything)
    except Exception:
        log.exception("warm-up failed; the classifier and FAQ load on first use")
    freeze_heap()
