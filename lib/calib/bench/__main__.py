"""`python -m calib.bench` (make bench)."""

import sys

from calib.bench.core import main

sys.exit(main())
