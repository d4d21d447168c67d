"""The verification app's state changes, by subject (bodies, reports, engagements)."""
