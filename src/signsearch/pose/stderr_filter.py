"""Drop MediaPipe's known noise from this process's stderr, at the file-descriptor level.

MediaPipe's C++ logging (glog) writes to fd 2 directly, past `sys.stderr`, so a Python-level filter cannot see it.
Inside `filtered_stderr()`, fd 2 is a pipe; a thread copies what arrives, line by line, to where fd 2 pointed
before, leaving out the lines of `NOISE`. Everything else (real warnings and errors, Python's own output, progress
bars) passes unchanged.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

# Logged by TFLite for each graph run of a model without a single signature: about eight lines per video.
NOISE = (re.compile(rb"inference_feedback_manager\.cc:114\] "),)
_LINE_END = re.compile(rb"(?<=[\r\n])")  # \r too: progress bars redraw with it and must not wait for a newline


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Filter fd 2 of this process (and of children started meanwhile) until the block ends."""
    _flush_python_stderr()
    sink = os.dup(2)
    source, pipe_in = os.pipe()
    os.dup2(pipe_in, 2)
    os.close(pipe_in)
    pump = threading.Thread(target=_pump, args=(source, sink), name="stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        _flush_python_stderr()
        os.dup2(sink, 2)  # closes the pipe's last write end (unless a child still holds it): the pump reads EOF
        pump.join()
        os.close(sink)


def _pump(source: int, sink: int) -> None:
    pending = b""
    while chunk := os.read(source, 65536):
        *lines, pending = _LINE_END.split(pending + chunk)
        for line in lines:
            _write(sink, line)
    _write(sink, pending)
    os.close(source)


def _write(sink: int, line: bytes) -> None:
    if not line or any(p.search(line) for p in NOISE):
        return
    try:
        while line:
            line = line[os.write(sink, line):]
    except OSError:
        pass  # the original stderr is gone; keep draining the pipe so that writers never block on it


def _flush_python_stderr() -> None:
    if sys.stderr is not None:
        sys.stderr.flush()
