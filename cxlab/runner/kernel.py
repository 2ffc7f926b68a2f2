"""The kernels notebooks run in.

A :class:`WarmKernel` is started once per worker and runs several notebooks in turn, so kernel start-up and
the scientific imports are paid once per worker, not once per notebook. Before each notebook the kernel is
put back to a clean state (:data:`CLEAN`): the user namespace is wiped and the execution count restarts at 1,
figures are closed, the working directory, ``sys.path`` and warning filters are restored to what they were
when the kernel started, and the environment is set to the one a kernel started now would inherit (the
caller's, with the thread caps). Modules stay imported: that is the point.

A run on one kernel (``jobs`` 1) leases it from a pool of idle kernels of this process and gives it back when
the run ends cleanly (:func:`lease`, :func:`give_back`), so the next run in the same process — the test suite,
a notebook calling :func:`cxlab.runner.run` again — does not start a kernel either; the pool is emptied at exit.
A kernel that died, or a run that was interrupted or failed to finish, is closed instead.

The kernel's own stderr (ipykernel's start-up warnings, and the traceback it prints when a run is interrupted)
is not the user's business, so it goes to a log unless ``CXLAB_DEBUG`` is set.
"""

from __future__ import annotations

import atexit
import os
import queue
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

#: Environment variables that cap the threads of BLAS, OpenMP (scikit-learn's gradient boosting) and DuckDB.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "CXLAB_THREADS")

#: Run silently in the kernel before each notebook: a clean namespace on a warm interpreter.
CLEAN = """\
def _cxlab_clean(environ):
    import os, sys, warnings
    state = sys.modules.get("_cxlab_warm_state")
    if state is None:
        import types
        state = types.ModuleType("_cxlab_warm_state")
        state.cwd, state.path = os.getcwd(), list(sys.path)
        state.filters = list(warnings.filters)
        sys.modules["_cxlab_warm_state"] = state
    os.chdir(state.cwd)
    sys.path[:] = state.path
    os.environ.clear()
    os.environ.update(environ)
    warnings.filters[:] = state.filters
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
        import matplotlib
        matplotlib.rcdefaults()
    get_ipython().reset(new_session=True)
_cxlab_clean({environ!r})
"""


#: Run silently in a kernel of a parallel run while the data is checked, before the first notebook: the
#: imports the notebooks make (about 3.5 s), so that they overlap the checks instead of following them.
WARM = CLEAN + """\
import cxlab.analyses.client_base, cxlab.analyses.hypothesis, cxlab.analyses.overview, cxlab.analyses.plan_checks
import cxlab.analyses.retro, cxlab.analyses.segments, cxlab.analyses.triggers, cxlab.interactive, cxlab.report
import matplotlib.pyplot
"""


class QuietKernelManager(AsyncKernelManager):
    """A kernel manager that sends the kernel's stderr to ``CXLAB_KERNEL_LOG`` (default: nowhere)."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if not os.environ.get("CXLAB_DEBUG"):
            log = os.environ.get("CXLAB_KERNEL_LOG")
            kw["stderr"] = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the kernel owns it)
        await super()._async_launch_kernel(kernel_cmd, **kw)


def thread_caps(jobs: int) -> dict[str, str]:
    """The thread caps for one of ``jobs`` kernels run at once: the machine's cores shared between them
    (an environment variable the user set wins)."""
    per = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
    return {name: os.environ.get(name, per) for name in THREAD_VARIABLES}


class WarmKernel:
    """One kernel that runs notebooks in turn (see the module docstring); ``close()`` stops it."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env
        self.km: QuietKernelManager | None = None
        self.pid: int | None = None

    def manager(self) -> QuietKernelManager:
        """The started kernel manager (started on first use, and again after a kernel died)."""
        from jupyter_core.utils import run_sync

        if self.km is not None and not run_sync(self.km.is_alive)():
            self.close()
        if self.km is None:
            km = QuietKernelManager(kernel_name="python3")
            run_sync(km.start_kernel)(cwd=str(self.cwd), env=self.environ())
            self.km = km
            self.pid = getattr(km.provisioner, "pid", None)
        self.km.cxlab_environ = self.environ()  # type: ignore[attr-defined]  # read by WarmClient's clean-up
        return self.km

    def warm(self, stop: threading.Event) -> None:
        """Start the kernel and run :data:`WARM` in it, giving up when ``stop`` is set or the kernel dies.
        Best effort: a kernel that cannot start is left for the first notebook to report."""
        from jupyter_core.utils import run_sync

        try:
            km = self.manager()
            if stop.is_set():
                return
            kc = km.client()
            kc.start_channels()
            try:
                run_sync(kc.wait_for_ready)(timeout=60)
                sent = kc.execute(WARM.format(environ=self.environ()), silent=True, store_history=False)
                while not stop.is_set():
                    try:
                        reply = run_sync(kc.get_shell_msg)(timeout=0.5)
                    except queue.Empty:
                        if not run_sync(km.is_alive)():
                            return
                        continue
                    if reply["parent_header"].get("msg_id") == sent:
                        return
            finally:
                kc.stop_channels()
        except Exception:  # noqa: BLE001,S110 (the first notebook on this kernel says what went wrong)
            pass

    def environ(self) -> dict[str, str]:
        """The environment of the next notebook: the caller's as it is now, with this kernel's thread caps."""
        return {**os.environ, **self.env}

    def kill(self) -> None:
        """Stop the kernel process at once (from any thread): its notebook then fails with a dead kernel."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        """Stop the kernel and release its ports and files (call from the thread that started it)."""
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        if km is None:
            return
        self.kill()
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 (the process is gone already; what is left is bookkeeping)
            km.cleanup_resources()
        self.pid = None


#: The idle kernel of each thread of this process (at most one: see the module docstring), by thread id.
_IDLE: dict[int, WarmKernel] = {}
_IDLE_LOCK = threading.Lock()


def lease(cwd: Path, env: dict[str, str]) -> WarmKernel:
    """This thread's idle kernel if it was started in ``cwd`` with the thread caps ``env``, else a new one
    (an idle kernel that does not fit is closed). By thread: a kernel manager is driven through the event
    loop of the thread that started it."""
    with _IDLE_LOCK:
        idle = _IDLE.pop(threading.get_ident(), None)
    if idle is not None and (idle.cwd, idle.env) == (cwd, env):
        return idle
    if idle is not None:
        idle.close()
    return WarmKernel(cwd, env)


def give_back(kernel: WarmKernel) -> None:
    """Keep ``kernel`` as this thread's idle kernel for its next run (closed at exit); a kernel that is not
    running is dropped."""
    if kernel.km is None:
        return
    with _IDLE_LOCK:
        before = _IDLE.pop(threading.get_ident(), None)
        _IDLE[threading.get_ident()] = kernel
    if before is not None and before is not kernel:
        before.close()


@atexit.register
def close_idle() -> None:
    """Stop every idle kernel (at exit; also callable to free them sooner)."""
    with _IDLE_LOCK:
        kernels = list(_IDLE.values())
        _IDLE.clear()
    for kernel in kernels:
        kernel.close()


class WarmClient(PapermillNotebookClient):
    """Papermill's client on a kernel it does not own: cleans the namespace before the first cell."""

    def papermill_execute_cells(self) -> None:
        kc: Any = getattr(self, "kc", None)  # started by setup_kernel before the cells run
        environ = getattr(self.km, "cxlab_environ", None) or dict(os.environ)  # set by WarmKernel.manager()
        reply = self.wait_for_reply(kc.execute(CLEAN.format(environ=environ), silent=True, store_history=False))
        if reply is None or reply["content"].get("status") != "ok":
            content = reply["content"] if reply else {}
            raise RuntimeError(f"cannot clean the warm kernel: {content.get('ename')}: {content.get('evalue')}")
        super().papermill_execute_cells()

    def execute(self, **kwargs: Any) -> Any:
        try:
            return super().execute(**kwargs)
        finally:  # the kernel stays up for the next notebook; this notebook's channels do not
            kc: Any = getattr(self, "kc", None)
            if kc is not None:
                kc.stop_channels()
                self.kc = None


class Record(NotebookExecutionManager):
    """Papermill's record of the running notebook (the ``.part`` file), written when each cell starts and when
    the notebook ends, not also when each cell ends (the next write holds that cell's outputs), and without
    checking the schema at every write (the finished notebook is checked when it is read back to publish):
    on the six demo notebooks papermill's two checked writes per cell took 0.60 s of the runner's time, these 0.33 s."""

    output_path: str | None

    def save(self, **kwargs: Any) -> None:
        if self.output_path:
            Path(self.output_path).write_text(nbformat.v4.writes_json(self.nb), encoding="utf-8")
        self.last_save_time = self.now()

    def cell_complete(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        path, self.output_path = self.output_path, None
        try:
            super().cell_complete(cell, cell_index, **kwargs)
        finally:
            self.output_path = path


class WarmEngine(NBClientEngine):
    """The papermill engine ``cxlab-warm``: executes a notebook on the ``km`` it is given, recorded by :class:`Record`."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None, progress_bar: bool = True,
                         log_output: bool = False, autosave_cell_every: int = 30, **kwargs: Any) -> Any:
        nb_man = Record(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                        autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                 stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
                                 execution_timeout: int | None = None, **kwargs: Any) -> Any:
        kwargs.pop("input_path", None)
        kwargs.pop("timeout", None)
        kwargs.pop("startup_timeout", None)
        return WarmClient(nb_man, kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                          stderr_file=stderr_file, startup_timeout=start_timeout, timeout=execution_timeout,
                          **kwargs).execute()


papermill_engines.register("cxlab-warm", WarmEngine)
