"""`python -m perpd.perpctl`: the same as the `perpctl` console script."""

import sys

from perpd.perpctl import main

sys.exit(main())
