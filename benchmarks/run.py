"""Run every benchmark in this folder: ``python benchmarks/run.py [--quick]``.

``--quick`` uses small sizes (CI runs it this way to check the scripts work);
without it each benchmark uses the sizes its issue names.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

QUICK = ["--size", "20000", "--rows", "20000"]


def main() -> int:
    here = Path(__file__).resolve().parent
    extra = QUICK if "--quick" in sys.argv[1:] else []
    failed = 0
    for script in sorted(here.glob("bench_*.py")):
        print(f"\n== {script.name}", flush=True)
        failed += (
            subprocess.run(
                [sys.executable, str(script), *extra], check=False
            ).returncode
            != 0
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
