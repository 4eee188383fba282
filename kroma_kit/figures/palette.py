"""Colours shared by every picture: badges, bars and tiles in panels, dashboards and contact sheets."""

# The QA verdict colours of every badge, bar and tile (panels, dashboards, contact sheets).
VERDICT_COLOURS = {"pass": "#1b7f3b", "warn": "#b7791f", "fail": "#b42318"}
