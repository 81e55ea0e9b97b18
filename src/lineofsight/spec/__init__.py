"""The strategy file: its schema, YAML loading with line numbers, validation and dumping."""
