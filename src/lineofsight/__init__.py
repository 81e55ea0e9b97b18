"""Line of Sight: KPI alignment from the mission down to every team and person."""

__version__ = "0.1.0"
