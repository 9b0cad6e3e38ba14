"""Analysis: the LLM and offline analyzers, and recommendation of papers beyond the ranked."""
