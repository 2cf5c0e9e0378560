"""Exceptions the core raises; the CLI turns them into one-line messages."""


class InputError(Exception):
    """An input or option the run cannot proceed with (exit status 2).

    The message names the file or option and says what is wrong, in one line.
    """
