"""Reader-study statistics over the export tables (DESIGN.md, Exports)."""
