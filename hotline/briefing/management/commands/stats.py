"""``hotline stats``: lives in hotline.analytics; re-exported here so it works whether or not the
analytics app is installed."""

from hotline.analytics.management.commands.stats import Command  # noqa: F401
