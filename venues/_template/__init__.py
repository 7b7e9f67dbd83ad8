"""The template venue: every file of a venue package, each saying what it must do.

Copy this folder to `venues/<kind>/` and follow README.md. Not a registered venue.
"""
