"""``ConfigError``: what is wrong with a configuration, one line per problem, each naming where it is."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

MAX_PROBLEMS = 20


class ConfigError(Exception):
    """The configuration is missing, malformed or unsafe (exit code 2).

    ``problems`` holds one message per problem, e.g.
    ``dsobridge.toml:14: [sync] unknown setting 'max_dorp' — did you mean 'max_drop'?``; ``str()`` joins them
    with line breaks. No message ever holds a configured value: they name the key, the file and the line.
    """

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems[:MAX_PROBLEMS])
        if len(problems) > MAX_PROBLEMS:
            self.problems.append(f"… and {len(problems) - MAX_PROBLEMS} more problems")
        super().__init__("\n".join(self.problems))


def quoted(name: str) -> str:
    return f"'{name}'"


def suggest(name: str, choices: Iterable[str], *, show: Callable[[str], str] = quoted) -> str:
    """`` — did you mean 'max_drop'?`` when a choice is close to ``name`` (difflib), else ``""``."""
    folded = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.6)
    return f" — did you mean {show(folded[close[0]])}?" if close else ""
