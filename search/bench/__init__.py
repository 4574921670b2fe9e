"""Speed benchmarks behind ``manage.py bench_speed`` (embedding, index kinds, HTTP, peers, memory)."""
