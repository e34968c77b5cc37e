"""The one exception type the command line turns into a clear message instead of a traceback."""


class StudyError(Exception):
    """A problem the researcher can fix: the message names the file, the key or row, and what is wrong."""
