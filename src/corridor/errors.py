"""One error type for bad input: its message is a single line naming the field and the fix."""


class CorridorInputError(Exception):
    """Bad user input (scenario, parameter, file). The CLI prints it and exits with code 2."""
