"""API validation rules: carrier and service codes of arriving documents checked against
the carrier catalogue, each check enforced as Warning or Error per the account's rules."""

from dataclasses import dataclass

from accounts.models import Account, EnforcementStatus, ValidationCheck
from accounts.selectors import validation_rules
from catalog.models import Carrier, CarrierService


@dataclass(frozen=True)
class Finding:
    field: str
    code: str
    message: str


@dataclass
class ValidationOutcome:
    errors: list[Finding]
    warnings: list[Finding]

    def warnings_for_record(self) -> list[dict]:
        return [{"field": f.field, "code": f.code, "message": f.message} for f in self.warnings]

    def error_text(self) -> str:
        return "; ".join(f"{f.field}: {f.message}" for f in self.errors)


def check_carrier_codes(
    account: Account, document: str, carrier_code: str, service_code: str
) -> ValidationOutcome:
    rules = validation_rules(account)
    carrier = Carrier.objects.filter(code__iexact=carrier_code).first() if carrier_code else None
    findings: list[tuple[str, Finding]] = []
    if not carrier_code:
        findings.append(
            (
                ValidationCheck.MISSING_CARRIER_CODE,
                Finding("carrier_code", "missing_carrier_code", "No carrier code."),
            )
        )
    elif carrier is None:
        findings.append(
            (
                ValidationCheck.INVALID_CARRIER_CODE,
                Finding("carrier_code", "invalid_carrier_code", f"Unknown carrier code {carrier_code!r}."),
            )
        )
    if not service_code:
        findings.append(
            (
                ValidationCheck.MISSING_SERVICE_CODE,
                Finding("service_code", "missing_service_code", "No service code."),
            )
        )
    elif (
        carrier is not None
        and not CarrierService.objects.filter(carrier=carrier, code__iexact=service_code).exists()
    ):
        findings.append(
            (
                ValidationCheck.INVALID_SERVICE_CODE,
                Finding(
                    "service_code",
                    "invalid_service_code",
                    f"Unknown service code {service_code!r} for carrier {carrier.code}.",
                ),
            )
        )
    outcome = ValidationOutcome(errors=[], warnings=[])
    for check, finding in findings:
        if rules[(document, check)] == EnforcementStatus.ERROR:
            outcome.errors.append(finding)
        else:
            outcome.warnings.append(finding)
    return outcome
