"""Vest (vestmarkets.com): the venue, from its documentation (there is no SDK), and its emulator."""
