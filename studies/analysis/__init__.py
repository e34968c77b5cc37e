"""Reader-study statistics over the export tables (docs/architecture.md, Exports)."""
