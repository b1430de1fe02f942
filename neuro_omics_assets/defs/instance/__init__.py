"""The project's Dagster instance directory (DAGSTER_HOME) and its shipped ``dagster.yaml``."""

from __future__ import annotations

import os
import shutil
from importlib.resources import files
from pathlib import Path

from ...settings import dagster_home


def prepare_dagster_home() -> Path:
    """Create DAGSTER_HOME with the shipped ``dagster.yaml`` (kept if the user edited it); export it."""
    home = dagster_home().resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(str(files(__package__) / "dagster.yaml"), target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
