"""One YAML file per rule (see docs/rules.md)."""
