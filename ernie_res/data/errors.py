"""The one error type every data reader raises for malformed input.

A reader never skips a bad record silently: it raises ``DataFormatError`` naming the file and
the 1-based line where the problem starts, what it expected and what it found.
"""


class DataFormatError(ValueError):
    """Malformed data file. ``str(err)`` reads ``"<path>:<line>: <message>"``."""

    def __init__(self, path, line, message):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
