"""Objectives: the registered check kinds, the effects they count and the integrity hints."""
