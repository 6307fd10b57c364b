"""customer-tiers: the ELT pipeline from raw customer exports to tiering marts.

Every module lives under this one import name, so installing the project never shadows (or is
shadowed by) another distribution's top-level package (`btyd`, `orchestration`, ... exist on
the package index).
"""

import warnings

# Great Expectations imports pyspark whenever it is installed (the spark extra), and pyspark
# warns on import that it does not yet fully support pandas 3: a line of noise on every run,
# DuckDB runs included. The Spark engine's results are compared with DuckDB's in the tests.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
