"""The errors corridor expects: their message is one line naming the problem and the fix.

The command line (``corridor.cli.main``) prints such an error as one line on
stderr and exits with its ``exit_code``; any other exception is a bug in
corridor and is shown with its traceback.
"""


class CorridorError(Exception):
    """An expected failure that is not a bug (a lost cluster, a folder held by another run)."""

    exit_code = 1


class CorridorInputError(CorridorError):
    """Bad user input (scenario, parameter, file, argument). The CLI prints it and exits with code 2."""

    exit_code = 2


class ClusterError(CorridorError):
    """The Dask cluster failed under the runs (scheduler gone, no worker left, a run killing its workers)."""
