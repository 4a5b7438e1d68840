"""KPI stacks, measurements and snapshots (built in the KPI issue)."""
