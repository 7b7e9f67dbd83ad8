"""A template for a new venue: copy, rename, fill in (see README.md). Not registered."""
