"""Great Expectations suites, one module per source, and the runner that checks raw tables."""
