"""Use cases that tie the store, the strategy file, the engine and the checks together."""
