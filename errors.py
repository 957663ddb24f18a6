"""The one error type kspec raises for problems in a user's spec, data or command line.

Anything else that escapes kspec is a bug in kspec and keeps its traceback.
"""

import re
from dataclasses import dataclass

# Characters that would break the one-line form or act on the terminal (a BEL, an escape sequence).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text):
    """`text` with control characters and line breaks written as escapes (`\\x07`, `\\n`)."""
    return _UNPRINTABLE.sub(lambda found: repr(found.group())[1:-1], text)


@dataclass(frozen=True)
class Mark:
    """Where a value came from: a file (or `--set`) and a 1-based line and column; 0 when unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self):
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where it is, the dotted path inside the spec, and what to do."""

    message: str
    path: str = ""
    mark: Mark | None = None

    def __str__(self):
        where = f"{self.mark}: " if self.mark else ""
        path = f"{self.path}: " if self.path else ""
        return printable(f"{where}{path}{self.message}")


class SpecError(Exception):
    """One or more problems with a spec (or with data or arguments named by it).

    Printed by the CLI as one line per problem, `file:line:col: spec.path: message`, and exit status 1.

    Args:
        problems: a `Problem`, a list of them, or a message string.
        path: spec path, when `problems` is a string.
        mark: position, when `problems` is a string.
    """

    def __init__(self, problems, path="", mark=None):
        if isinstance(problems, str):
            problems = [Problem(problems, path, mark)]
        elif isinstance(problems, Problem):
            problems = [problems]
        # A block called many times repeats its problems word for word: each is reported once.
        self.problems = list({str(p): p for p in problems}.values())
        super().__init__("\n".join(str(p) for p in self.problems))
