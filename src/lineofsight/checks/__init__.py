"""The alignment rules."""
