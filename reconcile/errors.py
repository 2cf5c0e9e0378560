"""Exceptions the core raises, and the exit statuses: the CLI turns the one into
the other (a one-line message on stderr)."""

EXIT_OK = 0  # no finding at or above --fail-on; trace: something has that id
EXIT_FINDINGS = 1  # a finding that counts at or above --fail-on
EXIT_NOT_FOUND = 1  # trace: nothing has that id
EXIT_ERROR = 2  # a usage or input error: nothing written that looks like a report
EXIT_INTERNAL = 3  # a bug or the machine (out of disk, out of memory)


class InputError(Exception):
    """An input or option the run cannot proceed with (exit status 2).

    The message names the file or option and says what is wrong, in one line.
    """
