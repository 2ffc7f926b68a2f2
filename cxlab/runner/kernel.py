"""The kernels notebooks run in.

A :class:`WarmKernel` is started once per worker and runs several notebooks in turn, so kernel start-up and
the scientific imports are paid once per worker, not once per notebook. Before each notebook the kernel is
put back to a clean state (:data:`CLEAN`): the user namespace is wiped and the execution count restarts at 1,
figures are closed, and the working directory, ``sys.path``, environment and warning filters are restored
to what they were when the kernel started. Modules stay imported: that is the point.

The kernel's own stderr (ipykernel's start-up warnings, and the traceback it prints when a run is interrupted)
is not the user's business, so it goes to a log unless ``CXLAB_DEBUG`` is set.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

#: Environment variables that cap the threads of BLAS, OpenMP (scikit-learn's gradient boosting) and DuckDB.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "CXLAB_THREADS")

#: Run silently in the kernel before each notebook: a clean namespace on a warm interpreter.
CLEAN = """\
def _cxlab_clean():
    import os, sys, warnings
    state = sys.modules.get("_cxlab_warm_state")
    if state is None:
        import types
        state = types.ModuleType("_cxlab_warm_state")
        state.cwd, state.path, state.environ = os.getcwd(), list(sys.path), dict(os.environ)
        state.filters = list(warnings.filters)
        sys.modules["_cxlab_warm_state"] = state
    os.chdir(state.cwd)
    sys.path[:] = state.path
    os.environ.clear()
    os.environ.update(state.environ)
    warnings.filters[:] = state.filters
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
        import matplotlib
        matplotlib.rcdefaults()
    get_ipython().reset(new_session=True)
_cxlab_clean()
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
            run_sync(km.start_kernel)(cwd=str(self.cwd), env={**os.environ, **self.env})
            self.km = km
            self.pid = getattr(km.provisioner, "pid", None)
        return self.km

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


class WarmClient(PapermillNotebookClient):
    """Papermill's client on a kernel it does not own: cleans the namespace before the first cell."""

    def papermill_execute_cells(self) -> None:
        kc: Any = getattr(self, "kc", None)  # started by setup_kernel before the cells run
        reply = self.wait_for_reply(kc.execute(CLEAN, silent=True, store_history=False))
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


class WarmEngine(NBClientEngine):
    """The papermill engine ``cxlab-warm``: executes a notebook on the ``km`` it is given."""

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
