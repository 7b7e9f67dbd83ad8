"""The sim venue."""
