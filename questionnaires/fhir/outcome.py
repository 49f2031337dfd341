"""OperationOutcome: the one shape every FHIR error takes, with one issue per problem and its FHIRPath location."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from questionnaires.fhir.resources import validated

Severity = Literal["fatal", "error", "warning", "information"]


@dataclass(frozen=True)
class Issue:
    """One problem; `code` is from the R4 issue-type value set (invalid, required, value, not-found, ...)."""

    code: str
    diagnostics: str
    expression: tuple[str, ...] = ()
    severity: Severity = "error"


@dataclass
class FhirError(Exception):
    """Raised anywhere under /fhir/; the view answers it as an OperationOutcome with `status`."""

    status: int
    issues: list[Issue] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(issue.diagnostics for issue in self.issues)


def fhir_error(status: int, code: str, diagnostics: str, expression: str | None = None) -> FhirError:
    return FhirError(
        status, [Issue(code=code, diagnostics=diagnostics, expression=(expression,) if expression else ())]
    )


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return validated(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": issue.severity,
                    "code": issue.code,
                    "diagnostics": issue.diagnostics,
                    **({"expression": list(issue.expression)} if issue.expression else {}),
                }
                for issue in issues
            ]
            or [{"severity": "information", "code": "informational", "diagnostics": "ok"}],
        }
    )
