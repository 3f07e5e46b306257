"""A vendor extends crmcore's stage rules with its own exit criterion.

The vendor's CRM keeps signed documents on each deal. Its rule "a signed NDA
must be on file before the proposal goes out" becomes a registered criterion
kind: usable in pipelines defined in Python, stored as JSON in the vendor's
database, loaded back, and explained to the sales rep like any built-in rule.

Run it with ``python examples/vendor_exit_criterion.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

import attrs

from crmcore import from_json, get_field, to_json
from crmcore.conditions import field
from crmcore.pipelines import (
    MustHold,
    Pipeline,
    RequiredFields,
    StageContext,
    StageDefinition,
    TransitionPolicy,
    UnmetCriterion,
    evaluate,
    register_criterion,
)


@register_criterion
@attrs.frozen
class SignedDocument:
    """A signed document of a given type must be on file for the deal."""

    kind: ClassVar[str] = "signed_document"
    document_type: str = "nda"

    def check(self, context: StageContext, stage: str) -> tuple[UnmetCriterion, ...]:
        # get_field reads dicts, ORM objects and attrs records alike.
        documents: list[dict[str, Any]] = get_field(
            context.record, "documents", default=[]
        )  # type: ignore[assignment]
        signed = [
            d
            for d in documents
            if d.get("type") == self.document_type and d.get("signed_at")
        ]
        if signed:
            return ()
        return (
            UnmetCriterion(
                self.kind,
                stage,
                f"a signed {self.document_type.upper()} must be on file",
                field="documents",
                expected=f"a signed {self.document_type!r} document",
                actual=[d.get("type") for d in documents],
            ),
        )


def main() -> None:
    pipeline = Pipeline(
        "enterprise",
        (
            StageDefinition(
                "discovery",
                "Discovery call held",
                exit_criteria=(
                    RequiredFields(("budget", "decision_maker")),
                    SignedDocument("nda"),
                ),
            ),
            StageDefinition(
                "proposal",
                "Proposal sent",
                exit_criteria=(
                    MustHold(field("amount") > 0, message="a positive amount"),
                ),
            ),
            StageDefinition("won", "Closed won", kind="won"),
            StageDefinition("lost", "Closed lost", kind="lost"),
        ),
        policy=TransitionPolicy("forward_only", lost_reasons=("price", "no_decision")),
    )

    # 1. Store the definition as JSON (e.g. in the vendor's database)...
    stored = to_json(pipeline, indent=2)
    print(
        "stored criteria:", json.dumps(json.loads(stored)["stages"][0]["exit_criteria"])
    )

    # 2. ...and load it back: the registered kind is structured like a built-in.
    loaded = from_json(stored, Pipeline)
    assert loaded == pipeline

    # 3. Ask whether a deal may move on: the decision explains itself.
    deal: dict[str, Any] = {
        "id": "deal-42",
        "stage": "discovery",
        "budget": 120_000,
        "documents": [{"type": "msa", "signed_at": "2026-02-10"}],
    }
    decision = evaluate(
        loaded, deal, "proposal", as_of=datetime(2026, 3, 1, tzinfo=UTC)
    )
    print(decision)
    print("the form should ask for:", ", ".join(decision.prompt_fields))

    # 4. Once the NDA is signed and the decision maker known, the move is allowed.
    deal["documents"].append({"type": "nda", "signed_at": "2026-02-28"})
    deal["decision_maker"] = "CFO"
    print(evaluate(loaded, deal, "proposal", as_of=datetime(2026, 3, 1, tzinfo=UTC)))


if __name__ == "__main__":
    main()
