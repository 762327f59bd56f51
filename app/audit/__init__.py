"""The append-only audit log: the table and the one function that writes to it.

Low in the layers so that every domain that changes something (keys, roles, grants, feedback,
submissions) can record it in its own transaction without importing the others.
"""
