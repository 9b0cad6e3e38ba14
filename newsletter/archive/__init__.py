"""The public archive: static pages of every published edition, an Atom feed, key figures."""
