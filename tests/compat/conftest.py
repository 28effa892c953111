"""The layered virtual environment lives with the doc-sample runner (sdk_docs/tests)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "sdk_docs" / "tests"))
