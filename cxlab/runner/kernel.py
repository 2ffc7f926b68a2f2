"""The kernel notebooks run in: its own stderr (ipykernel's start-up warnings, and the traceback it prints
when a run is interrupted) is not the user's business, so it goes to a log unless ``CXLAB_DEBUG`` is set."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from jupyter_client.manager import AsyncKernelManager


class QuietKernelManager(AsyncKernelManager):
    """A kernel manager that sends the kernel's stderr to ``CXLAB_KERNEL_LOG`` (default: nowhere)."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if not os.environ.get("CXLAB_DEBUG"):
            log = os.environ.get("CXLAB_KERNEL_LOG")
            kw["stderr"] = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the kernel owns it)
        await super()._async_launch_kernel(kernel_cmd, **kw)
