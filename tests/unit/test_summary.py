"""The run summary's wording for the model-fit outcomes."""

from pathlib import Path

from customer_tiers.orchestration.summary import RunSummary, format_summary


def _summary(**overrides: object) -> RunSummary:
    base: dict = dict(
        warehouse=Path("w.duckdb"),
        as_of="2026-06-30",
        sources=[],
        quarantine_reasons=[],
        warnings=[],
        segments=[],
        value_classes=[],
        abc_classes=[],
        pareto=None,
        customers=0,
    )
    return RunSummary(**(base | overrides))


def test_excluded_gamma_gamma_customers_are_reported() -> None:
    text = format_summary(_summary(clv_fitted_customers=1200, clv_monetary_excluded=3))
    assert "CLV models: fitted on 1,200 customers" in text
    assert "3 repeat customers with repeat purchases worth zero or less left out" in text


def test_unfitted_models_are_said_plainly() -> None:
    text = format_summary(_summary(clv_fitted_customers=None))
    assert "CLV models: not fitted" in text and "predicted columns empty" in text
