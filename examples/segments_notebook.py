# %% [markdown]
# # Who should we understand better? Segments, ICP fit and RFM
#
# A notebook-style walk through crmcore's segmentation tools on the built-in
# sample CRM. Run it as a script (`python examples/segments_notebook.py`) or
# open it as a notebook in VS Code / Jupyter (jupytext): every `# %%` is a cell.
# Everything prints plain tables; `pandas.DataFrame(rows)` takes the rows as they are.

# %%
from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

from crmcore import (
    IcpCriterion,
    IcpModel,
    IcpTier,
    Segment,
    SegmentCounter,
    Tier,
    Tiering,
    btyd_summary,
    field,
    generate_sample,
    rfm_scores,
    rfm_segments,
    structure,
    unstructure,
)
from crmcore.segments import b2b_segments

data = generate_sample(20_000, seed=42)
accounts = data.account_profiles()  # plain dict rows: bring-your-own-records style
as_of = data.as_of
print(
    f"{len(accounts):,} accounts, {len(data.opportunities):,} deals, "
    f"as of {as_of.date()}"
)

# %% [markdown]
# ## 1. An ideal customer profile, scored and explained

# %%
icp = IcpModel(
    "b2b_saas",
    (
        IcpCriterion(
            "industry", field("industry").is_in({"saas", "fintech"}), weight=3
        ),
        IcpCriterion("size", field("employees").between(50, 1000), weight=2),
        IcpCriterion("market", field("country").is_in({"US", "DE", "GB"}), weight=1),
        IcpCriterion("engaged", field("contacts").count(at_least=2), weight=1),
    ),
    tiers=(IcpTier("A", 80), IcpTier("B", 55), IcpTier("C", 30)),
    disqualifiers=(
        Segment("no_contacts", field("contacts").count(at_least=0, at_most=0)),
    ),
)
score = icp.scorer(as_of=as_of)
tiers = Counter(icp.tier_for(score(a)) or "below C" for a in accounts)
print({tier: tiers[tier] for tier in ("A", "B", "C", "below C")})

best = max(accounts, key=score)
print(icp.score(best, as_of=as_of))

# %% [markdown]
# ## 2. Starter segments, their sizes and overlaps, in one pass

# %%
counter = SegmentCounter.of(b2b_segments(), as_of=as_of).update(accounts)
overlap = counter.result()
rows = overlap.to_rows()
for row in rows:
    print(f"{row['segment']:<24} {row['count']:>5}")
print(
    "multi-stakeholder accounts in an active buying cycle:",
    overlap.overlap("multi_stakeholder", "in_active_buying_cycle"),
)

# %% [markdown]
# ## 3. Account priority as tiers, with the reason for one account

# %%
priority = Tiering(
    "account_priority",
    (
        Tier(
            "strategic",
            (field("employees") >= 1000) & (field("won_amount") >= Decimal(100_000)),
        ),
        Tier("expand", (field("mrr") > 0) & field("contacts").count(at_least=3)),
        Tier("pursue", field("open_deals") >= 1),
    ),
    default="nurture",
)
print(priority.counts(accounts))
print(priority.decide(accounts[0]))

# %% [markdown]
# ## 4. RFM: who buys, how often, how much

# %%
purchases = data.purchases()  # won deals as a transaction log
scores = rfm_scores(purchases, as_of=as_of)
named = Counter(rfm_segments().assign(s) for s in scores.values())
for name, count in named.most_common():
    print(f"{name:<20} {count:>5}")

summary = btyd_summary(purchases, observation_end=as_of, amount="amount")
repeaters = [row for row in summary.values() if row.frequency > 0]
mean_repeat = sum(r.monetary_value or 0 for r in repeaters) / max(len(repeaters), 1)
print(
    f"{len(repeaters):,} of {len(summary):,} customers bought again; "
    f"mean repeat deal {mean_repeat:,.0f}"
)

# %% [markdown]
# ## 5. Definitions are data: store the ICP as JSON and load it back

# %%
stored = json.dumps(unstructure(icp), indent=2)
again = structure(json.loads(stored), IcpModel)
assert again == icp
print(stored[:300], "...")

# %% [markdown]
# ## 6. Optional: a chart, when matplotlib is installed

# %%
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # the example must run without it
    print("matplotlib is not installed: skipping the chart")
else:
    figure, axis = plt.subplots(figsize=(7, 3))
    axis.bar([str(name) for name in named], list(named.values()))
    axis.set_title("RFM segments")
    axis.tick_params(axis="x", rotation=45)
    figure.tight_layout()
    figure.savefig("rfm_segments.png")
    print("wrote rfm_segments.png")
