"""Pose one video into its .pose file and index row, in this process or in worker processes.

Workers are plain subprocesses (`python -m signsearch.pose.workers`) that load MediaPipe once and read
tasks as JSON lines. Not multiprocessing: `spawn` re-runs the parent's `__main__` (under Snakemake's
`script:` that is the job script itself), and `fork` aborts in MediaPipe once the parent has run a model.
A worker that dies (e.g. a crash inside MediaPipe) is restarted and given its video once more; a second crash
fails only that video, a second SIGKILL (the out-of-memory killer, an operator) fails the job.
Faults of the machine (disk full, I/O errors, no memory) are `EnvironmentFault`s: they fail the job, so the
video is not blamed in failures.tsv and a rerun tries again.
"""

from __future__ import annotations

import errno
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from signsearch.atomic import atomic_path
from signsearch.pose.probe import DEFAULT_FRAME_TOLERANCE, ERROR, VideoFailure
from signsearch.pose.stderr_filter import filtered_stderr
from signsearch.pose.usable import unusable

if TYPE_CHECKING:
    from signsearch.pose.estimate import HolisticEstimator


# errno values that say the machine, not the video, is at fault.
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM, errno.EMFILE,
                            errno.ENFILE})


class EnvironmentFault(RuntimeError):
    """The machine failed (disk full, I/O error, a killed worker): the job fails instead of blaming a video."""


def machine_fault(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or (isinstance(err, OSError) and err.errno in MACHINE_ERRNOS)


@dataclass(frozen=True)
class Task:
    position: int  # row number in the shard table: the index keeps input order
    video_id: str
    video: str
    pose_path: str
    start: int = 0  # a part of the video: frames [start, stop), stop None = to its end (see pose.parts)
    stop: int | None = None

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop is None


@dataclass(frozen=True)
class Settings:
    model_complexity: int = 1
    refine_face_landmarks: bool = False
    frame_tolerance: float = DEFAULT_FRAME_TOLERANCE

    def estimator(self) -> HolisticEstimator:
        from signsearch.pose.estimate import HolisticEstimator  # MediaPipe only where it runs

        return HolisticEstimator(**asdict(self))


def pose_task(estimator: HolisticEstimator, task: Task) -> dict[str, Any]:
    """Pose one video and write its .pose atomically; a bad video becomes a failed row, a fault of the machine an
    `EnvironmentFault`."""
    row = _failed_row(task)
    try:
        # Stat before reading: if the video changes while it is posed, the next run sees it changed.
        stat = os.stat(task.video)
        row.update(source_size=stat.st_size, source_mtime_ns=stat.st_mtime_ns)
    except OSError:
        pass  # the estimator reports it as missing or unreadable
    try:
        if task.whole:
            pose = estimator.estimate(task.video)
        else:
            pose = estimator.estimate_part(task.video, task.start, task.stop)
        problem = unusable(pose) if task.whole else None  # a part is judged once joined to the others
        if problem is not None:
            raise VideoFailure(*problem)
        with atomic_path(task.pose_path) as tmp, open(tmp, "wb") as fh:
            pose.write(fh)
    except VideoFailure as failure:
        row.update(reason=failure.reason, detail=failure.detail)
    except Exception as err:  # one odd file must not stop the shard; a fault of the machine must
        if machine_fault(err):
            raise EnvironmentFault(f"posing {task.video}: {type(err).__name__}: {err}") from err
        row.update(reason=ERROR, detail=f"{type(err).__name__}: {err}"[:500])
    else:
        dims = pose.header.dimensions
        # fps as the .pose file stores it (float32), the same value a resumed run reads back.
        row.update(status="ok", frames=int(pose.body.data.shape[0]), fps=float(np.float32(pose.body.fps)),
                   width=int(dims.width), height=int(dims.height))
        return row
    # No stale .pose of an older version of this video may outlive its failure.
    Path(task.pose_path).unlink(missing_ok=True)
    return row


def pose_tasks(tasks: list[Task], settings: Settings, workers: int = 1) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (task.position, index row) as each task finishes; `workers` processes, 1 = this process."""
    workers = max(1, min(workers, len(tasks)))
    if workers == 1:
        with filtered_stderr(), settings.estimator() as estimator:
            for task in tasks:
                yield task.position, pose_task(estimator, task)
        return
    todo: queue.SimpleQueue[Task] = queue.SimpleQueue()
    # Biggest files first so no worker is left alone with a long video at the end.
    for task in sorted(tasks, key=lambda t: _size(t.video), reverse=True):
        todo.put(task)
    done: queue.SimpleQueue[tuple[int, dict[str, Any]] | BaseException | None] = queue.SimpleQueue()
    for _ in range(workers):
        threading.Thread(target=_drive, args=(settings, todo, done), daemon=True).start()
    running = workers
    while running:
        item = done.get()
        if item is None:
            running -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item


def _drive(settings: Settings, todo: queue.SimpleQueue[Task], done: queue.SimpleQueue[Any]) -> None:
    """Feed one worker process until no task is left (a thread of the parent)."""
    slot = _Slot(settings)
    try:
        while True:
            try:
                task = todo.get_nowait()
            except queue.Empty:
                return
            done.put((task.position, slot.run(task)))
    except BaseException as err:  # surfaced in the parent's thread
        done.put(err)
    finally:
        slot.close()
        done.put(None)


class WarmWorkers:
    """`size` worker processes that load MediaPipe once and stay for many calls of `run` (the web app poses each
    uploaded query on them, split in parts); `close()` ends them. One `run` at a time."""

    def __init__(self, settings: Settings, size: int) -> None:
        self.settings, self.size = settings, size
        self._slots = [_Slot(settings) for _ in range(size)]
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the processes now (each loads its model meanwhile) rather than at the first `run`."""
        with self._lock:
            for slot in self._slots:
                slot.start()

    def run(self, tasks: list[Task]) -> list[dict[str, Any]]:
        """The index row of each task (at most `size`), posed at the same time, one task per process."""
        if len(tasks) > self.size:
            raise ValueError(f"{len(tasks)} tasks for {self.size} worker processes")
        rows: list[dict[str, Any] | BaseException] = [RuntimeError("not run")] * len(tasks)

        def run_one(at: int) -> None:
            try:
                rows[at] = self._slots[at].run(tasks[at])
            except BaseException as err:  # raised in the caller's thread below
                rows[at] = err

        with self._lock:
            threads = [threading.Thread(target=run_one, args=(at,), daemon=True) for at in range(1, len(tasks))]
            for thread in threads:
                thread.start()
            if tasks:
                run_one(0)  # the first part in this thread
            for thread in threads:
                thread.join()
        for row in rows:
            if isinstance(row, BaseException):
                raise row
        return rows  # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            for slot in self._slots:
                slot.close()


class _Slot:
    """One worker process, started when first needed; a process that dies is replaced and its task given once
    more."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._worker: _Worker | None = None

    def start(self) -> None:
        self._worker = self._worker or _Worker(self._settings)

    def run(self, task: Task) -> dict[str, Any]:
        for _ in range(2):  # a worker that dies gets a fresh process and the same video once more
            self.start()
            assert self._worker is not None
            row = self._worker.run(task)
            if row is not None:
                break
            code = self._worker.close()
            self._worker = None
        if row is None:
            if code == -signal.SIGKILL:
                raise EnvironmentFault(f"the worker process was killed (exit code {code}) twice posing "
                                       f"{task.video}: out of memory? (the job fails; a rerun retries it)")
            row = _failed_row(task)
            row.update(reason=ERROR, detail=f"the worker process died (exit code {code}) posing this video")
        elif "fault" in row:
            raise EnvironmentFault(row["fault"])
        return row

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


class _Worker:
    def __init__(self, settings: Settings) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "signsearch.pose.workers", json.dumps(asdict(settings))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=_stderr(), text=True, encoding="utf-8",
            env=_worker_env(),
        )

    def run(self, task: Task) -> dict[str, Any] | None:
        """The row for `task`, or None when the process died."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(json.dumps(asdict(task)) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            return None
        line = self._proc.stdout.readline()
        return json.loads(line) if line else None

    def close(self) -> int:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()  # end of tasks: the worker closes its model and exits
        except BrokenPipeError:
            pass
        return self._proc.wait()


def _stderr() -> IO[str] | None:
    """The parent's sys.stderr when it is a real file (a Snakemake job log), else inherit fd 2."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    return sys.stderr


def _worker_env() -> dict[str, str]:
    """This environment, with the folder this `signsearch` was imported from first on PYTHONPATH: the worker runs
    the same code, also in a job environment where the package is not installed (see scripts/_signsearch_src.py)."""
    src = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}


def _failed_row(task: Task) -> dict[str, Any]:
    return {
        "video_id": task.video_id, "pose_path": task.pose_path, "status": "failed", "reason": None,
        "detail": None, "frames": 0, "fps": 0.0, "width": 0, "height": 0, "source_size": 0, "source_mtime_ns": 0,
    }


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _serve(settings_json: str) -> None:
    """Worker process: one model, tasks in on stdin, rows out on the original stdout."""
    rows = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # stray prints (libraries, C++ logs) must not corrupt the row channel
    with filtered_stderr(), Settings(**json.loads(settings_json)).estimator() as estimator:
        for line in sys.stdin:
            try:
                row = pose_task(estimator, Task(**json.loads(line)))
            except EnvironmentFault as fault:  # told to the parent, which fails the job
                row = {"fault": str(fault)}
            rows.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    _serve(sys.argv[1])
