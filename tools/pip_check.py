"""``pip check`` for the venv, ignoring the data/binary carriers of requirements/no-deps.txt.

Those packages are installed with --no-deps and never imported, so their (old) requirements are
not wanted. Without this filter a second ``make setup`` in an existing venv (after a change to
pyproject.toml) fails on them. Requirements left unmet on purpose are listed, each with its
reason, in requirements/unmet-ok.txt; only those exact pairs are accepted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def carriers() -> set[str]:
    names = set()
    for line in (ROOT / "requirements" / "no-deps.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[=<>!~ ]", line, maxsplit=1)[0].lower().replace("_", "-")
                      .replace(".", "-"))
    return names


def accepted_unmet() -> set[tuple[str, str]]:
    pairs = set()
    for line in (ROOT / "requirements" / "unmet-ok.txt").read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) == 2:
            pairs.add((_norm(words[0]), _norm(words[1])))
    return pairs


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _accepted(line: str, pairs: set[tuple[str, str]]) -> bool:
    words = line.split()
    return len(words) >= 4 and words[2] == "requires" and line.endswith("which is not installed.") \
        and (_norm(words[0]), _norm(words[3].rstrip(","))) in pairs


def main() -> int:
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True,
                            text=True, check=False)
    ignored = carriers()
    unmet_ok = accepted_unmet()
    problems = [line for line in result.stdout.splitlines()
                if line.strip() and line.split()[0].lower() not in ignored
                and not _accepted(line, unmet_ok)
                and not line.startswith("No broken requirements")]
    for line in problems:
        print(line)
    if result.returncode != 0 and not problems and "has requirement" not in result.stdout \
            and "requires" not in result.stdout:
        print(result.stdout + result.stderr)
        return result.returncode
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
