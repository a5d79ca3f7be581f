"""Rule data (YAML): brands, people, signals and one file per rule."""
