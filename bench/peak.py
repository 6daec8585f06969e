"""Run a command and report its own peak resident size: ``python -m bench.peak CMD...`` runs CMD,
passes its output through, exits with its code and writes ``fbs-bench-peak-kb: N`` as the last
line of standard error
(after ``fbs-bench-wall-s: S``, the command's own wall time, without this launcher's start-up).

Linux counts into a child's maximum RSS the memory of the process it was forked from (until exec);
the bench's own process holds hundreds of MB by the time it measures the import, so the import is
started from this small process instead, whose own size is all that can leak into the figure."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def main() -> None:
    start = time.perf_counter()
    proc = subprocess.Popen(sys.argv[1:])
    _, status, usage = os.wait4(proc.pid, 0)
    print(f"fbs-bench-peak-kb: {usage.ru_maxrss}", file=sys.stderr, flush=True)
    print(f"fbs-bench-wall-s: {time.perf_counter() - start:.4f}", file=sys.stderr, flush=True)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
