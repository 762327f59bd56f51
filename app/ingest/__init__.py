"""Getting data in: seeding the geography and the authored catalogue from their sources (and,
later, supplier submissions)."""
