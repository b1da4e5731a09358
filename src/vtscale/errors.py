"""Errors that mean "the input is wrong", reported as one line naming file and field."""


class InputError(ValueError):
    """Bad input data: the message names the file (and record or field) at fault."""
