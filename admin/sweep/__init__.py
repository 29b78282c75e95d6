"""The hardware sweep: the Space visits the flavors the owner chose, one restart each, and records what works where."""
