"""Lead scoring on the sample CRM: learn from history, score today, check honestly.

Run with ``python examples/lead_scoring.py``.

1. The sample's leads as rows, each with its events and its outcome.
2. A naive Bayes model learns from the leads that closed before a cut-off
   date; the leads that closed after it are held out.
3. The held-out leads are scored and the score evaluated: AUC, average
   precision, Brier score, log loss, calibration and the lift of the top.
4. The open leads are scored and the best ones explained.
5. The rule-based model's bands are checked against what the leads did.
6. The trained counts merge: two halves counted apart give the same table.
"""

from __future__ import annotations

from datetime import timedelta

from crmcore.sample import generate_sample, sample_naive_bayes, sample_scoring_model
from crmcore.scoring import BandConversion, evaluate_model, split_by_time
from crmcore.serialization import to_json

data = generate_sample(4000, seed=11)
rows = data.lead_rows()
closed = [row for row in rows if row["outcome"] != "open"]
still_open = [row for row in rows if row["outcome"] == "open"]
print(f"{len(rows):,} leads: {len(closed):,} closed, {len(still_open):,} open")

# 2. Learn from the past only; judge on what came after.
cut = data.as_of - timedelta(days=180)
train, held_out = split_by_time(closed, cut)
model = sample_naive_bayes()
table = model.train(train)
won, lost = table.closed()
print(
    f"\nTrained on {len(train):,} leads closed before {cut.date()}: "
    f"{won} won, {lost} lost"
)

# 3. The honest evaluation.
report = evaluate_model(table, held_out)
print(f"Held out: {report.count:,} leads, {report.positives} converted")
print(f"  ROC AUC            {report.auc:.3f}")
print(f"  average precision  {report.average_precision:.3f}")
print(f"  Brier score        {report.brier:.3f}")
print(f"  log loss           {report.log_loss:.3f}")
print(f"  lift of top 10 %   {report.lift('0.1'):.2f}")
print("  calibration (5 quantile bins): predicted -> observed")
for bin_ in report.calibration(5, strategy="quantile"):
    print(f"    {bin_.predicted:6.1%} -> {bin_.observed:6.1%}  ({bin_.count} leads)")

# 4. Today's open leads, the most likely first, each explained.
everything = model.train(closed)
predictions = sorted(
    ((everything.probability(row), row) for row in still_open),
    key=lambda pair: pair[0].percent or 0,
    reverse=True,
)
print("\nOpen leads most likely to convert")
for prediction, row in predictions[:3]:
    helped = ", ".join(f"{f.feature}={f.value!r}" for f in prediction.helped[:3])
    print(f"  {row['id']}: {prediction.percent}% (helped by {helped or 'nothing'})")

# 5. The rule-based score: does each band convert better than the next?
rules = sample_scoring_model()
bands = BandConversion()
for row in closed:
    score = rules.score(row, as_of=row["created_at"] + timedelta(days=45))
    bands.add((score.label, row["outcome"] == "won"))
print("\nRule-based labels (fit A-D x engagement 1-4) and their conversion")
for rate in bands.result():
    print(f"  {rate.band}: {rate.count:>4} leads, {rate.rate:6.1%} converted")
# In the sample only engagement drives conversion: D1 converts like A1. The
# fit rules earn nothing here, which is what an evaluation is for.

# 6. Counts merge: each half counted apart, then added.
half = len(closed) // 2
merged = model.table().update(closed[:half]).merge(model.table().update(closed[half:]))
assert merged.result() == everything
print(
    "\nTwo halves counted apart and merged give the same table; as JSON: "
    f"{to_json(model)[:40]}..."
)
