"""The National Do Not Call Registry: its files read (`files`), imported into a versioned
Parquet store partitioned by area code (`store`), and checked for age on a call date
(`freshness`). docs/dnc.md says what the files are and what was decided."""

from .files import RegistryFile, describe_files, read_batches
from .freshness import MAX_AGE_DAYS, check_registry, staleness_problem
from .store import (
    apply_change,
    area_dates,
    area_folder,
    current_version,
    import_registry,
    import_with_settings,
    read_manifest,
)

__all__ = [
    "MAX_AGE_DAYS",
    "RegistryFile",
    "apply_change",
    "area_dates",
    "area_folder",
    "check_registry",
    "current_version",
    "describe_files",
    "import_registry",
    "import_with_settings",
    "read_batches",
    "read_manifest",
    "staleness_problem",
]
