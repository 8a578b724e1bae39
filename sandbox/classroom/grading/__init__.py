"""The gradebook: grades from objectives, overrides and extensions, its pages, exports and a student's progress."""
