"""Owners at work: editing a dataset's metadata, inviting and removing co-owners and
suppliers, setting territories, and the dataset's history. The rights rule lives here.

Above ``stats`` (the history lists submissions) and ``auth`` (who is calling).
"""
