"""How a test starts a command it means to interrupt."""

from __future__ import annotations

import signal


def as_from_a_terminal() -> None:
    """Ctrl-C as a terminal delivers it (a ``preexec_fn``): a shell that started the suite in the background
    (``cmd &``) hands its children SIGINT ignored, and Python then never installs its KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
