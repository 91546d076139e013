"""A dialer simulator: demo-shaped numbers with planted reachability, a Task history drawn from
it, and the exact expected contact rate of a call list "tomorrow".

The truth (docs/contact-model.md, "The simulator", gives every parameter and why):

    P(contact | account a, field f, local hour h, weekday w)
        = min(CAP, theta[a] x field[f] x hour[f, h] x state[s] x tilt[s](h) x weekday[s, w])

theta is the account's latent answer propensity (Beta, mean 5%, heavy right tail), s the state
of the number's area code. The history is a handful of calls per number over months at the hours
a dialer uses, each answered with its true probability. `expected_contact_rate` scores a list by
those probabilities (no draw), and the two oracles make the lists the model is measured against:
`truth_oracle` (knows theta) and `bayes_oracle` (knows the generating model, sees only the
history).

Everything draws from `np.random.default_rng([seed, stream])`, so a seed gives the same world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from dialflow.jobs.contact import local_hour_weekday, number_places
from dialflow.schema import STRING, TIMESTAMP

from .phones import _phone_numbers
from .places import _read_reference_csv, load_reference

CALL_HOURS = np.arange(8, 21)  # local hours a dialer may start a call (8:00-21:00, federal)
OFFICE, MOBILE, HOME = "Phone", "Mobile_Phone__c", "Home_Phone__c"
CONTACT_DISPOSITIONS = np.array(["Contact", "Connected", "Not Interested", "Appointment Set"])
MISSED_DISPOSITIONS = np.array(["No Answer", "Voicemail", "Busy", "Left Message"])
WORLD, HISTORY, BAYES = 0, 1, 2  # random streams of one seed


def _profile(values: list[float]) -> np.ndarray:
    """A 24-hour profile from the values of CALL_HOURS, mean 1 over them, 0 outside."""
    profile = np.zeros(24)
    profile[CALL_HOURS] = np.asarray(values) / np.mean(values)
    return profile


@dataclass(frozen=True)
class Reachability:
    """The generating model's parameters (docs/contact-model.md explains each)."""

    propensity: tuple[float, float] = (0.6, 11.4)  # Beta(a, b) of theta: mean 5%
    field_multiplier: dict[str, float] = field(
        default_factory=lambda: {OFFICE: 1.0, MOBILE: 1.5, HOME: 0.8}
    )
    field_share: dict[str, float] = field(  # share of accounts holding the field
        default_factory=lambda: {OFFICE: 1.0, MOBILE: 0.45, HOME: 0.15}
    )
    hour_profile: dict[str, np.ndarray] = field(
        default_factory=lambda: {
            # Office lines: mornings and mid-afternoon, a lunch dip, quiet after 17:00.
            OFFICE: _profile([0.8, 1.1, 1.25, 1.2, 0.8, 1.0, 1.2, 1.2, 1.05, 0.8, 0.55, 0.45, 0.4]),
            # Mobiles: rise through the day, best in the early evening.
            MOBILE: _profile([0.6, 0.75, 0.85, 0.9, 1.0, 0.9, 0.9, 0.95, 1.05, 1.3, 1.4, 1.3, 1.0]),
            # Home lines: someone is home early and in the evening.
            HOME: _profile([1.0, 0.9, 0.7, 0.6, 0.7, 0.6, 0.6, 0.7, 0.9, 1.3, 1.5, 1.4, 1.1]),
        }
    )
    state_sd: float = 0.2  # log-sd of a state's level
    tilt_sd: float = 0.15  # log-sd of a state's morning/evening tilt per 6 hours from 14:00
    weekday: tuple[float, ...] = (1.0, 1.05, 1.05, 1.0, 0.9, 0.75, 0.6)  # Monday .. Sunday
    state_weekday_sd: float = 0.1  # log-sd of a state's own weekday pattern
    calls_per_number: float = 3.5  # Poisson mean of a number's calls in the history
    history_days: int = 180
    dialer_hours: tuple[float, ...] = (0.6, 1, 1, 1, 0.8, 1, 1, 1, 0.9, 0.7, 0.6, 0.5, 0.4)
    sunday_share: float = 0.2  # a Sunday call is kept with this chance, else moved to Monday
    cap: float = 0.95


@dataclass(frozen=True)
class World:
    """Planted truth: each number's account, field, state and zone, and the multipliers."""

    numbers: pd.DataFrame  # AccountId, Field, PhoneE164, State, TimeZone
    theta: pd.Series  # AccountId -> latent propensity
    states: np.ndarray  # state codes, census order
    state_level: np.ndarray  # per state
    state_tilt: np.ndarray  # per state, log multiplier per 6 hours after 14:00
    state_weekday: np.ndarray  # states x 7
    params: Reachability
    as_of: pd.Timestamp

    def probability(self, rows: pd.DataFrame, hours: np.ndarray, weekday: int) -> np.ndarray:
        """True P(contact) of rows (AccountId, Field; the world's numbers) at each local hour
        on a weekday: a rows x hours matrix."""
        place = rows[["AccountId", "Field"]].merge(
            self.numbers, on=["AccountId", "Field"], how="left", validate="m:1"
        )
        if place["State"].isna().any():
            raise KeyError("a row names an (AccountId, Field) that the world does not hold")
        state = pd.Index(self.states).get_indexer(place["State"])
        theta = self.theta.reindex(place["AccountId"]).to_numpy()
        return self._p(theta, place["Field"].to_numpy(dtype=object), state, hours, weekday)

    def _p(
        self,
        theta: np.ndarray,
        fields: np.ndarray,
        state: np.ndarray,
        hours: np.ndarray,
        weekday: int | np.ndarray,
        capped: bool = True,
    ) -> np.ndarray:
        """The planted product for rows (theta, field, state index): a rows x hours matrix.
        `hours` is one grid for every row, or a rows x k matrix; `weekday` one or per row."""
        params = self.params
        hours = np.asarray(hours, dtype=np.int64)
        n = len(fields)
        h = hours if hours.ndim == 2 else np.broadcast_to(hours, (n, hours.size))
        day = np.broadcast_to(np.asarray(weekday, dtype=np.int64), (n,))
        profile = np.zeros((n, 24))
        multiplier = np.zeros(n)
        for name in pd.unique(fields):  # three field types, each vectorised
            mask = fields == name
            profile[mask] = params.hour_profile[name]
            multiplier[mask] = params.field_multiplier[name]
        tilt = np.exp(self.state_tilt[state][:, None] * (h - 14) / 6)
        base = theta * multiplier * self.state_level[state] * self.state_weekday[state, day]
        p = base[:, None] * np.take_along_axis(profile, h, axis=1) * tilt
        return np.minimum(p, params.cap) if capped else p


def plant_world(
    n_accounts: int, seed: int, as_of: pd.Timestamp, params: Reachability | None = None
) -> World:
    """Draw accounts (state by census weight), their numbers and the planted multipliers."""
    params = params or Reachability()
    rng = np.random.default_rng([seed, WORLD])
    ref = load_reference()
    account_state = rng.choice(ref.states.size, size=n_accounts, p=ref.weights)
    # 18 characters like a Salesforce Id; the prefix keeps them apart from the demo's.
    ids = pd.Series(np.arange(n_accounts)).astype(str).str.zfill(12).radd("001SIM")
    ids = pd.array(ids, dtype=STRING)
    theta = rng.beta(*params.propensity, size=n_accounts)
    codes = _read_reference_csv("area_codes.csv")
    areas = pd.Index(codes["area_code"].astype(np.int64))
    places = number_places(pd.Series("+1" + codes["area_code"] + "0000000", dtype=STRING), codes)
    parts = []
    for name, share in params.field_share.items():  # three fields, each vectorised
        holders = np.flatnonzero(rng.random(n_accounts) < share)
        number = _phone_numbers(rng, ref, account_state[holders])
        place = places.iloc[areas.get_indexer(number // 10_000_000)]
        parts.append(
            pd.DataFrame(
                {
                    "AccountId": ids[holders],
                    "Field": name,
                    "PhoneE164": pd.Series(number).astype(str).radd("+1").to_numpy(),
                    "State": place["State"].to_numpy(),
                    "TimeZone": place["TimeZone"].to_numpy(),
                }
            )
        )
    numbers = pd.concat(parts, ignore_index=True).astype(STRING)
    # One number per (account, field) and per line: a rare collision keeps its first holder.
    numbers = numbers.drop_duplicates("PhoneE164").reset_index(drop=True)
    n_states = ref.states.size
    level = np.exp(rng.normal(0, params.state_sd, n_states))
    weekday = np.asarray(params.weekday)[None, :] * np.exp(
        rng.normal(0, params.state_weekday_sd, (n_states, 7))
    )
    return World(
        numbers=numbers,
        theta=pd.Series(theta, index=pd.Index(ids, name="AccountId")),
        states=ref.states,
        state_level=level / np.exp(np.mean(np.log(level))),
        state_tilt=rng.normal(0, params.tilt_sd, n_states),
        state_weekday=weekday,
        params=params,
        as_of=as_of,
    )


def world_accounts(world: World) -> pd.DataFrame:
    """The world's accounts as Account rows: Id and one column per phone field (E.164, missing
    where the account has no such number)."""
    wide = world.numbers.pivot(index="AccountId", columns="Field", values="PhoneE164")
    wide = wide.reindex(columns=list(world.params.field_share)).astype(STRING)
    return wide.rename_axis(index="Id", columns=None).reset_index()


def draw_history(world: World, seed: int) -> pd.DataFrame:
    """Draw the Task history (AccountId, Dialed_Number__c, CallDisposition, CreatedDate): per
    number a Poisson count of calls over the history's days, at a dialer's local hours, each a
    contact with its true probability."""
    params = world.params
    rng = np.random.default_rng([seed, HISTORY])
    numbers = world.numbers
    n_calls = rng.poisson(params.calls_per_number, len(numbers))
    row = np.repeat(np.arange(len(numbers)), n_calls)
    calls = numbers.iloc[row].reset_index(drop=True)
    today = world.as_of.tz_convert("UTC").normalize().tz_localize(None)
    days_back = rng.integers(1, params.history_days + 1, row.size)
    day = today - pd.to_timedelta(days_back, unit="D")
    sunday = (day.day_of_week == 6) & (rng.random(row.size) >= params.sunday_share)
    day = day + pd.to_timedelta(sunday.astype(np.int64), unit="D")
    dialer = np.asarray(params.dialer_hours) / np.sum(params.dialer_hours)
    hour = CALL_HOURS[rng.choice(CALL_HOURS.size, size=row.size, p=dialer)]
    minute = rng.integers(0, 3_600, row.size)
    wall = day + pd.to_timedelta(hour * 3_600 + minute, unit="s")
    created = pd.Series(pd.NaT, index=calls.index, dtype=TIMESTAMP)
    zones = calls["TimeZone"].to_numpy(dtype=object)
    for zone in pd.unique(zones):  # one localisation per zone, each vectorised
        mask = zones == zone
        created[mask] = (
            pd.Series(wall[mask]).dt.tz_localize(zone).dt.tz_convert("UTC").astype(TIMESTAMP)
        ).to_numpy()
    state = pd.Index(world.states).get_indexer(calls["State"])
    theta = world.theta.reindex(calls["AccountId"]).to_numpy()
    fields = calls["Field"].to_numpy(dtype=object)
    p = world._p(theta, fields, state, hour[:, None], day.day_of_week.to_numpy())[:, 0]
    contact = rng.random(row.size) < p
    which = rng.integers(0, 4, row.size)
    task = pd.DataFrame(
        {
            "AccountId": calls["AccountId"],
            "Dialed_Number__c": calls["PhoneE164"],
            "CallDisposition": np.where(
                contact, CONTACT_DISPOSITIONS[which], MISSED_DISPOSITIONS[which]
            ),
            "CreatedDate": created,
        }
    )
    task = task[task["CreatedDate"] <= world.as_of]
    return task.sort_values(["CreatedDate", "AccountId"], kind="stable").reset_index(drop=True)


def expected_contact_rate(world: World, call_list: pd.DataFrame, call_date: date) -> float:
    """The exact expected contact rate of a list dialled on `call_date`.

    Each row (AccountId, Field, HourLocal: a local hour, or missing for "any legal hour") is
    dialled once; its chance is its true probability at that hour, or the mean over CALL_HOURS
    when no hour is suggested (the baseline dials at a uniformly random legal hour).
    """
    if call_list.empty:
        return float("nan")
    weekday = call_date.weekday()
    p = world.probability(call_list, CALL_HOURS, weekday)
    hour = pd.array(call_list["HourLocal"], dtype="Int64")
    given = ~hour.isna()
    column = np.searchsorted(CALL_HOURS, hour.fillna(int(CALL_HOURS[0])).to_numpy())
    if np.any(given & ~np.isin(hour.fillna(-1).to_numpy(), CALL_HOURS)):
        raise ValueError(f"a suggested hour is outside the calling hours {CALL_HOURS.tolist()}")
    at_hour = p[np.arange(len(p)), column]
    return float(np.where(given, at_hour, p.mean(axis=1)).mean())


def _top_per_state(scored: pd.DataFrame, quotas: pd.Series | None, n: int) -> pd.DataFrame:
    """The best-scored row per account, then the top rows overall (`n`) or per state
    (`quotas`); ties by AccountId, so the pick is deterministic."""
    best = scored.sort_values(["Score", "AccountId"], ascending=[False, True], kind="stable")
    best = best.drop_duplicates("AccountId")
    if quotas is None:
        chosen = best.head(n)
    else:
        limit = best["State"].map(quotas).fillna(0).to_numpy()
        chosen = best[best.groupby("State").cumcount().to_numpy() < limit]
    return chosen[["AccountId", "Field", "State", "HourLocal", "Score"]].reset_index(drop=True)


def _best_hours(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    column = p.argmax(axis=1)
    return CALL_HOURS[column], p[np.arange(len(p)), column]


def _candidates(world: World, pool: pd.DataFrame | None) -> pd.DataFrame:
    """The world's numbers that a list may hold: all, or the pool's (AccountId, Field) rows (a
    fair comparison gives the oracles the rows listiq's pool offers the model)."""
    if pool is None:
        return world.numbers
    return world.numbers.merge(pool[["AccountId", "Field"]].drop_duplicates(), how="inner")


def truth_oracle(
    world: World,
    call_date: date,
    n: int = 0,
    quotas: pd.Series | None = None,
    pool: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The best list anyone could make: every number at its true best hour, the highest first
    (`n` rows, or `quotas` rows per state; one per account, from `pool` if given). The ceiling
    no model can pass."""
    numbers = _candidates(world, pool)
    hours, score = _best_hours(world.probability(numbers, CALL_HOURS, call_date.weekday()))
    scored = numbers.assign(HourLocal=hours, Score=score)
    return _top_per_state(scored, quotas, n)


def bayes_oracle(
    world: World,
    history: pd.DataFrame,
    call_date: date,
    n: int = 0,
    quotas: pd.Series | None = None,
    pool: pd.DataFrame | None = None,
    grid: int = 128,
) -> pd.DataFrame:
    """The best list from the history alone: knows the generating model (every multiplier and
    theta's Beta prior) but not theta; ranks by the posterior mean of P(contact) at each
    number's best hour. The honest ceiling for a model learned from the same history.

    The posterior of theta is computed on `grid` points at the prior's quantiles (equal prior
    mass each), from the exact Bernoulli likelihood of every call of the account.
    """
    params = world.params
    numbers = _candidates(world, pool)
    accounts = pd.Index(numbers["AccountId"].unique())
    posterior = pd.Series(
        theta_posterior_mean(world, history, accounts, grid), index=accounts, name="Posterior"
    )
    # The posterior mean of p at an hour is E[min(cap, theta x m)]; below the cap, theta's mean x m.
    state = pd.Index(world.states).get_indexer(numbers["State"])
    multiplier = world._p(
        np.ones(len(numbers)), numbers["Field"].to_numpy(dtype=object), state, CALL_HOURS,
        call_date.weekday(), capped=False,
    )  # fmt: skip
    mean = posterior.reindex(numbers["AccountId"]).to_numpy()[:, None]
    estimate = np.minimum(mean * multiplier, params.cap)
    hours, score = _best_hours(estimate)
    return _top_per_state(numbers.assign(HourLocal=hours, Score=score), quotas, n)


def theta_posterior_mean(
    world: World,
    history: pd.DataFrame,
    accounts: pd.Index,
    grid: int = 128,
    chunk_accounts: int = 100_000,
) -> np.ndarray:
    """Each account's posterior mean of theta given its calls, under the planted model.

    theta's Beta prior is represented by `grid` points at its quantiles (equal prior mass
    each); each call's likelihood is min(cap, theta x m) or one minus it, m its planted
    multiplier. Accounts go `chunk_accounts` at a time, so memory is chunk x grid, not
    accounts x grid. An account without calls gets the grid's mean (the prior mean).
    """
    from scipy.stats import beta as beta_dist

    params = world.params
    points = beta_dist.ppf((np.arange(grid) + 0.5) / grid, *params.propensity)
    calls = _history_calls(world, history)
    code = accounts.get_indexer(calls["AccountId"])
    calls, code = calls[code >= 0], code[code >= 0]
    order = np.argsort(code, kind="stable")
    calls, code = calls.iloc[order], code[order]
    state = pd.Index(world.states).get_indexer(calls["State"])
    multiplier = world._p(
        np.ones(len(calls)), calls["Field"].to_numpy(dtype=object), state,
        calls["LocalHour"].to_numpy()[:, None], calls["Weekday"].to_numpy(), capped=False,
    )[:, 0]  # fmt: skip
    contact = calls["Contact"].to_numpy()
    posterior = np.full(accounts.size, points.mean())
    # Chunks of accounts and grid points are loops; each step is vectorised over its calls.
    for lo in range(0, accounts.size, chunk_accounts):
        hi = min(lo + chunk_accounts, accounts.size)
        start, end = np.searchsorted(code, [lo, hi])
        rows = code[start:end] - lo
        log_like = np.zeros((hi - lo, grid))
        for g, theta in enumerate(points):
            p = np.clip(np.minimum(theta * multiplier[start:end], params.cap), 1e-12, 1 - 1e-12)
            step = np.where(contact[start:end], np.log(p), np.log1p(-p))
            log_like[:, g] = np.bincount(rows, weights=step, minlength=hi - lo)
        weight = np.exp(log_like - log_like.max(axis=1, keepdims=True))
        posterior[lo:hi] = (weight @ points) / weight.sum(axis=1)
    return posterior


def _history_calls(world: World, history: pd.DataFrame) -> pd.DataFrame:
    """The history's calls with field, state, local hour, weekday and contact (the oracle reads
    what the dialer saw: the disposition, not the probability)."""
    calls = history.merge(
        world.numbers,
        left_on=["AccountId", "Dialed_Number__c"],
        right_on=["AccountId", "PhoneE164"],
    )
    hour, weekday = local_hour_weekday(calls["CreatedDate"], calls["TimeZone"])
    contact = calls["CallDisposition"].isin(CONTACT_DISPOSITIONS).to_numpy()
    return calls.assign(LocalHour=hour, Weekday=weekday, Contact=contact)
