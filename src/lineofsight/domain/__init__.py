"""The pure model of an organisation's strategy: no I/O, no clock."""
