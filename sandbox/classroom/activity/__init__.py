"""Class activity: who did what in the current run, live, and the page that shows it."""
