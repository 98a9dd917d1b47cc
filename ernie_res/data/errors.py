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


def iter_lines(path, encoding="utf-8"):
    """Yield ``(line number, text)`` for each line of a file, without its line ending.

    A UTF-8 byte-order mark on the first line is dropped; a line that does not decode raises
    ``DataFormatError`` naming the file, the line and the offending byte.
    """
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as err:
                raise DataFormatError(path, lineno, f"expected {encoding} text, got undecodable "
                                                    f"byte 0x{raw[err.start]:02x} at column "
                                                    f"{err.start + 1}") from None
            if lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield lineno, line.rstrip("\r\n")
