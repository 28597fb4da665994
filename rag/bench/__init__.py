"""Speed benchmarks against raw baselines: indexing and search, generation, end to end."""
