"""Steps several handlers share: reading what a platform delivered that this channel has
not delivered before, the API validation rules on an arriving record, and the portal
document a platform record refers to."""

from orders.models import pk_from_reference
from orders.validation import ValidationOutcome

from .runner import JobContext


def reference_pks(references: list[str], prefix: str) -> list[int]:
    """Portal ids named by references: the `ids` of a push job (Send Orders, Send
    Purchase Orders) are the portal's own references, not platform ids."""
    return [pk for pk in (pk_from_reference(r, prefix) for r in references) if pk is not None]


def not_yet_received(ctx: JobContext, fetched, model):
    """The fetched shipments/receipts this channel has not delivered before; the others
    are counted as already received (a second run imports nothing new)."""
    ctx.report.absorb(fetched)
    known = set(
        model.objects.filter(
            channel=ctx.channel, external_id__in=[item.external_id for item in fetched.items]
        ).values_list("external_id", flat=True)
    )
    for incoming in fetched.items:
        if incoming.external_id in known:
            ctx.report.counts["already_received"] += 1
        else:
            yield incoming


def carrier_check(ctx: JobContext, document: str, incoming, label: str) -> ValidationOutcome | None:
    """The account's API validation rules on an arriving record's carrier and service
    codes, as the REST API applies them; None when an Error rule refuses the record
    (counted and noted under `label`, nothing is stored)."""
    check = ctx.carrier_rules.check(document, incoming.carrier_code, incoming.service_code)
    if check.errors:
        ctx.report.counts["rejected"] += 1
        ctx.report.note(f"{label} was refused: {check.error_text()}")
        return None
    return check


def referenced_documents(ctx: JobContext, model, prefix: str, references: list[str]) -> dict:
    """Reference → the account's order or purchase order it names (SO-n / PO-n), with its
    warehouse, in one query; a reference naming none is left out."""
    pks = {reference: pk_from_reference(reference, prefix) for reference in references}
    found = model.objects.filter(account=ctx.account, pk__in={pk for pk in pks.values() if pk})
    by_pk = {document.pk: document for document in found.select_related("warehouse")}
    return {reference: by_pk[pk] for reference, pk in pks.items() if pk in by_pk}


def count_waiting(ctx: JobContext, waiting, what: str, workflow: str) -> None:
    """Say how many documents this run left for a person; the run is no less a success."""
    count = waiting.count()
    if count:
        ctx.report.counts["waiting_for_a_person"] = count
        ctx.report.note(
            f"Not sent, waiting for a person (the {workflow} is off): {count} {what}{'s' * (count != 1)}.",
            problem=False,
        )
