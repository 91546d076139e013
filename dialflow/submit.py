"""Scheduled jobs: one YAML file per job (`jobs/<name>.yaml`) that `dialflow submit` runs.

A job file names the job, its config file, config overrides, the output folder, the scheduler and
who is notified; paths in it (overrides of path settings included) are relative to the file, and
paths in the config file are relative to the config file (config.load_settings), so cron and
systemd can run it from any working directory. `submit` turns it into the same `RunRequest` that
the `dialflow run <job>` a person would type makes, and hands it to the same runner, so a
scheduled run and a hand-run one cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .config import interpolate, resolve_override_paths, setting_key_problem
from .errors import ConfigError
from .runner import RunRequest
from .specs import SPECS


def run_options(job: str) -> dict[str, bool]:
    """Return the options of `dialflow run <job>` a job file may set, and whether each takes a
    value (the others are on/off flags)."""
    spec = SPECS[job]
    options = {"no_sql": False, **{option.name: option.takes_value for option in spec.options}}
    return {**options, "apply": False} if spec.apply_help else options


class Notify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    recipients: list[str] = Field(default_factory=list)


class JobFile(BaseModel):
    """One scheduled job."""

    model_config = ConfigDict(extra="forbid")

    job: Literal[tuple(SPECS)]  # type: ignore[valid-type] - the registered jobs
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
    allowed = run_options(spec.job)
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


def run_request(spec: JobFile, job_file: Path, scheduler: str | None) -> RunRequest:
    """Return the run the job file stands for: paths resolved against the file's folder, the
    notification settings and overrides as config overrides."""
    here = job_file.parent
    options = dict(spec.options)
    flags = {name: bool(options.pop(name)) for name in ("no_sql", "apply") if name in options}
    return RunRequest(
        job=spec.job,
        config=(here / spec.config).resolve(),
        output_dir=(here / spec.output).resolve() if spec.output is not None else None,
        scheduler=scheduler or spec.scheduler,
        no_email=spec.notify is not None and not spec.notify.enabled,
        options=options,
        overrides=resolve_override_paths(config_overrides(spec), here.resolve()),
        **flags,
    )


def config_overrides(spec: JobFile) -> dict[str, Any]:
    """Return the config overrides of the job file, with its notification settings."""
    overrides = dict(spec.overrides)
    if spec.notify is not None and spec.notify.enabled:
        overrides["email.enabled"] = True
        if spec.notify.recipients:
            overrides["email.recipients"] = spec.notify.recipients
    return overrides
