"""What venue adapters share: one copy of each mechanism that every venue package runs the
same way (error building, transport-failure mapping, HTTP answer helpers).

Each venue keeps its own data (code tables, names, URLs) in its own package and passes it
in; a venue's real quirk is a parameter or a small wrapper in that venue, never dropped.
Like `venues.base`, this sits below every venue package and imports none of them.
"""
