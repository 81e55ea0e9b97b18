"""The KPI library: a catalogue of well-defined KPIs to choose and cascade from."""
