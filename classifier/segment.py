"""The one place that imports jieba: word segmentation with the county's user dictionary.

Loaded lazily and once per process; thread-safe after the first call.
"""

from __future__ import annotations

import logging
import threading
import warnings
from functools import cache
from pathlib import Path
from typing import Any

_lock = threading.Lock()


@cache
def _tokenizer() -> Any:
    with _lock:
        with warnings.catch_warnings():
            # jieba (last release 2020) imports pkg_resources, which warns at import time.
            warnings.simplefilter("ignore")
            import jieba

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        user_dict = Path(__file__).parent / "data" / "user_dict.txt"
        if user_dict.is_file():
            # an open binary file (closed by the with block): a path would leak jieba's handle
            with user_dict.open("rb") as fh:
                tokenizer.load_userdict(fh)
        tokenizer.initialize()
        return tokenizer


def segment(text: str) -> list[str]:
    """Split Chinese text into words (precise mode, no HMM for new words), dropping blanks."""
    return [w for w in _tokenizer().lcut(text, HMM=False) if w.strip()]


def segment_for_search(text: str) -> list[str]:
    """Finer segmentation that also emits the sub-words of long words (for retrieval)."""
    return [w for w in _tokenizer().lcut_for_search(text, HMM=False) if w.strip()]
