"""FAQ curation: drafts, review, publication, and the database as the FAQ source of the index."""
