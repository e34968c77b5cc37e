"""The report encoder's domain error: a message for the researcher, never a traceback."""


class TextError(Exception):
    """A report corpus, model directory or setting that cannot be used, said in words."""
