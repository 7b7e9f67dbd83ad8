"""The lighter venue."""
