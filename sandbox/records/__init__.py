"""What every business record type shares: generic services and views over the Owned base."""
