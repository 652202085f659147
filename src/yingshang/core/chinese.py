"""jieba, loaded once per process and quietly (it logs its dictionary build), with domain words added."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

_lock = threading.Lock()
_added: set[str] = set()


def jieba_with(words: Iterable[str]):
    """The jieba module with ``words`` in its dictionary (each added once; the dictionary is process-wide)."""
    import jieba

    words = [w for w in words if w not in _added]
    if words:
        with _lock:
            jieba.setLogLevel(logging.WARNING)
            for word in words:
                if word not in _added:
                    jieba.add_word(word, freq=20000)
                    _added.add(word)
    return jieba
