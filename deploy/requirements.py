"""Print the requirements pyproject.toml declares, plus those of the extras named as
arguments, one per line for `pip install -r`.

`make` and the Dockerfile install Berth's dependencies this way rather than with `pip install .`,
which would build the (code-less) project and leave build artefacts in the work tree.
"""

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise SystemExit(f"unknown extras: {', '.join(unknown)} (have: {', '.join(optional)})")
    return [*project["dependencies"], *(req for extra in extras for req in optional[extra])]


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1:])))
