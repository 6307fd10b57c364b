"""customer-tiers: the ELT pipeline from raw customer exports to tiering marts.

Every module lives under this one import name, so installing the project never shadows (or is
shadowed by) another distribution's top-level package (`btyd`, `orchestration`, ... exist on
the package index).
"""
