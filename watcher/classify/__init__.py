"""Classification: ecosystems, kind, dates, language, programmes and cluster-policy tags."""
