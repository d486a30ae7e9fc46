"""The agents: catalog, research, benchmark, planner and upgrade. Each lands with its own issue."""
