"""The Space itself: runtime, hardware and prices, sleep time, pause and restart, replicas."""
