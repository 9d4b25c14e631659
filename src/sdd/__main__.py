from __future__ import annotations

import sys

from sdd.cli.main import main

sys.exit(main())
