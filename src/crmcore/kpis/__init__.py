"""KPI calculators: the catalogue as mergeable accumulators.

Every KPI is an accumulator (``add``, ``update``, ``merge``, ``empty``,
``result``) with a one-call function beside it. Results are frozen
[`KpiResult`][crmcore.kpis.KpiResult] values carrying their numerator,
denominator and components, and the reason when undefined.

Examples:
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 2, 1, tzinfo=timezone.utc)
    >>> deals = [dict(outcome=o, created_at=t, closed_at=t, amount=1000, currency="EUR")
    ...          for o in ("won", "lost", "lost", "won")]
    >>> print(win_rate(deals))
    win_rate: 50.00 %
"""

from __future__ import annotations

from crmcore.kpis._core import (
    Accumulator,
    Grouped,
    GroupedResult,
    GroupKey,
    HasCondition,
    KpiResult,
    PeriodKey,
    Where,
    Window,
    by_period,
    grouped,
)
from crmcore.kpis.cohorts import (
    CohortRetention,
    CohortRow,
    CohortTable,
    cohort_retention,
)
from crmcore.kpis.deals import (
    AverageDealSize,
    OpenPipeline,
    PipelineVelocity,
    SalesCycle,
    WeightedPipeline,
    WinRate,
    average_deal_size,
    open_pipeline,
    pipeline_velocity,
    sales_cycle,
    velocity_from,
    weighted_pipeline,
    win_rate,
)
from crmcore.kpis.economics import (
    MarketingSpend,
    acquisition_cost,
    cac_payback,
    discounted_lifetime_value,
    lifetime_value,
    ltv_to_cac,
    marketing_spend,
)
from crmcore.kpis.goals import (
    Alert,
    Goal,
    GoalStatus,
    KpiReview,
    ReviewCadence,
    ReviewDue,
    goal_status,
    reviews_due,
    wrong_direction,
)
from crmcore.kpis.leads import LeadConversion, lead_conversion
from crmcore.kpis.report import HeadlineKpis, KpiReport, kpi_report
from crmcore.kpis.revenue import (
    Arpa,
    CustomerRetention,
    GrossRevenueRetention,
    LogoChurn,
    Mrr,
    MrrMovements,
    NetRevenueRetention,
    NewCustomers,
    QuickRatio,
    RevenueChurn,
    arpa,
    customer_retention,
    gross_revenue_retention,
    logo_churn,
    mrr,
    mrr_movements,
    net_revenue_retention,
    new_customers,
    quick_ratio,
    revenue_churn,
)

__all__ = [
    "Accumulator",
    "Alert",
    "Arpa",
    "AverageDealSize",
    "CohortRetention",
    "CohortRow",
    "CohortTable",
    "CustomerRetention",
    "Goal",
    "GoalStatus",
    "GrossRevenueRetention",
    "GroupKey",
    "Grouped",
    "GroupedResult",
    "HasCondition",
    "HeadlineKpis",
    "KpiReport",
    "KpiResult",
    "KpiReview",
    "LeadConversion",
    "LogoChurn",
    "MarketingSpend",
    "Mrr",
    "MrrMovements",
    "NetRevenueRetention",
    "NewCustomers",
    "OpenPipeline",
    "PeriodKey",
    "PipelineVelocity",
    "QuickRatio",
    "RevenueChurn",
    "ReviewCadence",
    "ReviewDue",
    "SalesCycle",
    "WeightedPipeline",
    "Where",
    "WinRate",
    "Window",
    "acquisition_cost",
    "arpa",
    "average_deal_size",
    "by_period",
    "cac_payback",
    "cohort_retention",
    "customer_retention",
    "discounted_lifetime_value",
    "goal_status",
    "gross_revenue_retention",
    "grouped",
    "kpi_report",
    "lead_conversion",
    "lifetime_value",
    "logo_churn",
    "ltv_to_cac",
    "marketing_spend",
    "mrr",
    "mrr_movements",
    "net_revenue_retention",
    "new_customers",
    "open_pipeline",
    "pipeline_velocity",
    "quick_ratio",
    "revenue_churn",
    "reviews_due",
    "sales_cycle",
    "velocity_from",
    "weighted_pipeline",
    "win_rate",
    "wrong_direction",
]
