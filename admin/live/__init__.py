"""The Space's live metrics and run log, streamed from the Hub for the owner only."""
