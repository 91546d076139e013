"""The base of every job's parameters: frozen values, built from the settings by field name.

A job's parameters live beside the job (`DedupeParams` in jobs/dedupe.py, ...). A field named
like a setting of the job's config section is taken from it as it is; only what is derived (from
another section, the command line or a rule) is spelled out in the job's `from_settings`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

P = TypeVar("P", bound="JobParams")


class JobParams(BaseModel):
    """Frozen job parameters; `dict(params)` is what summary.json records."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    @classmethod
    def from_section(cls: type[P], section: BaseModel, **derived: Any) -> P:
        """Take every field of the same name from a settings section, and the `derived` rest."""
        same = {name: value for name, value in section if name in cls.model_fields}
        return cls(**{**same, **derived})
