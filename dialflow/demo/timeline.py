"""The demo's time scale: every time is whole epoch seconds (UTC) until it becomes a column."""

DAY = 86_400
NS = 1_000_000_000  # nanoseconds per second: pandas timestamps count nanoseconds
ACCOUNT_YEARS = 5  # accounts were created over the five years before as_of
CALL_DAYS = 730  # calls lie in the two years before as_of
