"""Pictures any face may draw: charts, the QA and cost charts, contact sheets, HTML text helpers.

Pure drawing from rows and frames (PNG bytes or HTML), no queries and no widgets, so the CLI,
the notebook panels and the dashboards import the same code without importing each other.
Queries that feed these pictures live in :mod:`kroma_kit.analytics.pictures`.
"""
