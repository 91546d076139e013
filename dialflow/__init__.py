"""DIAL-Flow: keep an outbound calling operation's data clean, on Dask."""

__version__ = "0.1.0"
