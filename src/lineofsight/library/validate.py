"""Check the KPI catalogue: `python -m lineofsight.library.validate [FILE ...]`.

Prints every problem as `file:line: reason` and exits 1 if there is any; else prints the entry
count per function and per industry. Without files it checks the catalogue in the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lineofsight.domain.text import plural
from lineofsight.library.catalogue import check_catalogue
from lineofsight.library.model import FUNCTIONS, INDUSTRIES


def main(argv: list[str] | None = None) -> int:
    """Run the check and return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(arg) for arg in args] or None
    catalogue, problems = check_catalogue(paths)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{plural(len(problems), 'problem')} in the KPI catalogue", file=sys.stderr)
        return 1
    functions, industries = catalogue.count_by()
    print(f"{len(catalogue.entries)} KPIs, no problems")
    print("by function:")
    for name in FUNCTIONS:
        print(f"  {name:<18} {functions.get(name, 0)}")
    print("by industry:")
    print(f"  {'all (cross-industry)':<20} {industries.get('all', 0)}")
    for name in INDUSTRIES:
        print(f"  {name:<20} {industries.get(name, 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
