"""Pure maths on KPIs: periods, aggregation, targets, scoring, roll-ups, forecasts."""
