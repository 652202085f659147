"""Working-day calendar models (owned by the calendar work)."""
