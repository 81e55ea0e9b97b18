"""Run `los`, or a Python snippet, as on a plain `pip install lineofsight`: every extra's
modules and the test tools are made unimportable first (None in sys.modules is what Python
reads as "not installed": `import` raises ModuleNotFoundError, `find_spec` finds nothing).

    python core_only.py los ARGS...        the command line
    python core_only.py python CODE        a snippet (the Python API)
"""

from __future__ import annotations

import sys

from lineofsight.extras import EXTRAS

TEST_TOOLS = ("pytest", "_pytest", "hypothesis", "httpx", "playwright", "mypy", "hatchling")
BLOCKED = sorted({*TEST_TOOLS, *(name for names in EXTRAS.values() for name in names)})

if __name__ == "__main__":
    for name in BLOCKED:
        sys.modules[name] = None  # type: ignore[assignment]
    mode, *rest = sys.argv[1:]
    if mode == "los":
        from lineofsight.cli.app import main

        sys.argv = ["los", *rest]
        main()
    else:
        exec(rest[0], {"__name__": "__snippet__"})
