from __future__ import annotations

import sys
from pathlib import Path

# lake_testkit is shared by these tests and the subprocesses the crash tests start.
sys.path.insert(0, str(Path(__file__).parent))
