"""Errors a user can act on. Each carries the exit code the CLI returns for it."""

from __future__ import annotations


class CxlabError(Exception):
    """Base error: a message a user can act on, and the CLI exit code (2 = bad input or usage)."""

    exit_code = 2


class DataError(CxlabError):
    """A data source is missing, unreadable, or breaks the canonical contract."""


class CardError(CxlabError):
    """A catalogue card is malformed: YAML syntax, unknown field, wrong type, bad rule."""


class RuleError(CardError):
    """A rule in a card could not be parsed or compiled (unknown column, function or construct)."""


class ParameterError(CxlabError):
    """A notebook parameter is unknown or has the wrong type."""


class NotebookFailed(CxlabError):
    """A notebook raised while executing; its executed copy is kept beside the run."""

    exit_code = 1


class NotApplicable(CxlabError):
    """A report cannot apply to this data (no communications, no values, no card that fits).

    Not a failure: the runner marks the notebook *skipped* with this message as its one-line reason,
    and the run still exits 0.
    """

    exit_code = 0
