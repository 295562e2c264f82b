"""Run an iterator on a thread ahead of its consumer, through a bounded queue."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

_END = object()


class Prefetched:
    """`with Prefetched(it, depth=3) as items: for item in items: ...`

    The producer's exceptions reach the consumer at the point where they happened; leaving the
    block early (an exception in the consumer) stops the producer at its next step."""

    def __init__(self, iterator: Iterator, *, depth: int):
        self._iterator = iterator
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-prefetch", daemon=True)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._iterator:
                if not self._put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put((None, exc))
            return
        self._put((_END, None))

    def __enter__(self) -> Iterator:
        self._thread.start()
        return self._consume()

    def _consume(self) -> Iterator:
        while True:
            item, error = self._queue.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
