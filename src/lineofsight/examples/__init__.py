"""Worked examples installed by `los init --example NAME`: a strategy file and measurements each."""

from importlib import resources


def example_names() -> list[str]:
    """The names of the worked examples shipped with Line of Sight."""
    root = resources.files(__name__)
    return sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir() and (entry / "strategy.yaml").is_file()
    )
