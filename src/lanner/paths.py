"""Where bundled content and data live, resolved once from the package location."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
# Editable installs (make install) run from the repository, where content/ sits beside src/.
REPO_DIR = PACKAGE_DIR.parent.parent
CONTENT_DIR = REPO_DIR / "content"
BUNDLED_RULES_DIR = CONTENT_DIR / "rules"
# Third-party datasets shared by the team, read in place, never copied (see DESIGN.md).
SHARED_DATASETS_DIR = REPO_DIR.parent / "shared" / "datasets"
