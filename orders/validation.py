"""API validation rules: carrier and service codes of arriving documents checked against
the carrier catalogue, each check enforced as Warning or Error per the account's rules."""

from dataclasses import dataclass

from accounts.models import Account, EnforcementStatus, ValidationCheck
from accounts.selectors import validation_rules
from catalog.models import Carrier


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
    return CarrierRules(account).check(document, carrier_code, service_code)


class CarrierRules:
    """An account's validation rules and the carriers met so far, read once: a job
    checking thousands of arriving records asks the database once per distinct carrier
    instead of three times per record."""

    def __init__(self, account: Account):
        self.rules = validation_rules(account)
        # carrier code as written, upper-cased → (catalogue code, its service codes upper-cased)
        self._carriers: dict[str, tuple[str, set[str]] | None] = {}

    def _carrier(self, code: str) -> tuple[str, set[str]] | None:
        key = code.upper()
        if key not in self._carriers:
            carrier = Carrier.objects.filter(code__iexact=code).prefetch_related("services").first()
            self._carriers[key] = (
                (carrier.code, {s.code.upper() for s in carrier.services.all()}) if carrier else None
            )
        return self._carriers[key]

    def check(self, document: str, carrier_code: str, service_code: str) -> ValidationOutcome:
        carrier = self._carrier(carrier_code) if carrier_code else None
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
                    Finding(
                        "carrier_code", "invalid_carrier_code", f"Unknown carrier code {carrier_code!r}."
                    ),
                )
            )
        if not service_code:
            findings.append(
                (
                    ValidationCheck.MISSING_SERVICE_CODE,
                    Finding("service_code", "missing_service_code", "No service code."),
                )
            )
        elif carrier is not None and service_code.upper() not in carrier[1]:
            findings.append(
                (
                    ValidationCheck.INVALID_SERVICE_CODE,
                    Finding(
                        "service_code",
                        "invalid_service_code",
                        f"Unknown service code {service_code!r} for carrier {carrier[0]}.",
                    ),
                )
            )
        rules = self.rules
        outcome = ValidationOutcome(errors=[], warnings=[])
        for check, finding in findings:
            if rules[(document, check)] == EnforcementStatus.ERROR:
                outcome.errors.append(finding)
            else:
                outcome.warnings.append(finding)
        return outcome
