"""Real services for the tests, started on loopback addresses only."""
