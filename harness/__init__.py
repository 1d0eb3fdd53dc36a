"""What the test suite and the benchmark share: servers started on free loopback ports,
the SQL statement counter, and logging a test client in through the real login form.

No pytest here, so the benchmark (``bench/``) runs with the runtime requirements alone,
and neither of them imports the other.
"""
