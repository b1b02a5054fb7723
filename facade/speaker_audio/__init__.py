"""speaker-audio."""
