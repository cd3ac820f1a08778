"""`python -m benchmarks`: run the side-by-side benchmarks."""

from benchmarks.cli import main

raise SystemExit(main())
