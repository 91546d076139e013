"""Scheduled jobs: one YAML file per job (`jobs/<name>.yaml`) that `dialflow submit` runs.

A job file names the job, its config file, config overrides, the output folder, the scheduler and
who is notified; paths in it are relative to the file, so cron and systemd can run it from any
working directory. `submit` turns it into exactly the `dialflow run <job>` a person would type,
so a scheduled run and a hand-run one cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .config import interpolate, setting_key_problem
from .errors import ConfigError

# The flags of each `dialflow run <job>` a job file may set, and whether they take a value.
RUN_OPTIONS: dict[str, dict[str, bool]] = {
    "dedupe": {"no_sql": False},
    "autoflush": {"no_sql": False, "apply": False, "since": True},
    "listiq": {"no_sql": False, "call_date": True},
    "infoflow": {"no_sql": False, "apply": False},
}


class Notify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    recipients: list[str] = Field(default_factory=list)


class JobFile(BaseModel):
    """One scheduled job."""

    model_config = ConfigDict(extra="forbid")

    job: Literal["dedupe", "autoflush", "listiq", "infoflow"]
    config: Path = Path("../config.yaml")
    output: Path | None = None
    scheduler: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, bool | str] = Field(default_factory=dict)
    notify: Notify | None = None

    @field_validator("overrides")
    @classmethod
    def _dotted_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not all(part.isidentifier() for part in key.split(".")):
                raise ValueError(f"{key!r} is not a dotted config key like autoflush.since")
        return value


def load_job_file(path: Path) -> JobFile:
    """Read and check a job file; one error line names the file, the key and the fix.

    `${VAR}` and `${VAR:-default}` are taken from the environment as in config.yaml, so a
    secret in an override lives in the environment, not in the job file.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the job file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    data = interpolate(data or {}, str(path))
    try:
        spec = JobFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {where}: {error['msg']}") from None
    for key in spec.overrides:
        # Checked against the settings here, where the job file is known: later, the config
        # file would be blamed for a key that only the job file holds.
        problem = setting_key_problem(key)
        if problem:
            raise ConfigError(f"{path}: overrides.{key}: {problem}")
    allowed = RUN_OPTIONS[spec.job]
    for name, value in spec.options.items():
        if name not in allowed:
            raise ConfigError(
                f"{path}: options.{name}: `dialflow run {spec.job}` has no such option; "
                f"known: {', '.join(sorted(allowed))}"
            )
        if allowed[name] != isinstance(value, str):
            kind = "a text value" if allowed[name] else "true or false"
            raise ConfigError(f"{path}: options.{name}: must be {kind}")
    return spec


def run_arguments(spec: JobFile, job_file: Path, scheduler: str | None) -> list[str]:
    """Return the `dialflow run` arguments the job file stands for (after `dialflow`)."""
    here = job_file.parent
    arguments = ["run", spec.job, "--config", str((here / spec.config).resolve())]
    if spec.output is not None:
        arguments += ["--output", str((here / spec.output).resolve())]
    if scheduler or spec.scheduler:
        arguments += ["--scheduler", scheduler or spec.scheduler]
    for name, value in spec.options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, str):
            arguments += [flag, value]
        elif value:
            arguments.append(flag)
    if spec.notify is not None and not spec.notify.enabled:
        arguments.append("--no-email")
    return arguments


def config_overrides(spec: JobFile) -> dict[str, Any]:
    """Return the config overrides of the job file, with its notification settings."""
    overrides = dict(spec.overrides)
    if spec.notify is not None and spec.notify.enabled:
        overrides["email.enabled"] = True
        if spec.notify.recipients:
            overrides["email.recipients"] = spec.notify.recipients
    return overrides
