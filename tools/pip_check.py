"""``pip check`` for the venv, ignoring the data/binary carriers of requirements/no-deps.txt.

Those packages are installed with --no-deps and never imported, so their (old) requirements are
not wanted. Without this filter a second ``make setup`` in an existing venv (after a change to
pyproject.toml) fails on them.
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


def main() -> int:
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True,
                            text=True, check=False)
    ignored = carriers()
    problems = [line for line in result.stdout.splitlines()
                if line.strip() and line.split()[0].lower() not in ignored
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
