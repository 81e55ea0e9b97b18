"""Worked examples installed by `los init --example NAME`: a strategy file and measurements each."""
