"""Who a run acts as: the trigger of the runs an order workflow or a person starts, and
the name a send job's outcome carries in the order history."""

from channels.platforms import JobType
from orders import workflow
from orders.workflow import PO_WORKFLOW, SO_WORKFLOW, Actor

from .models import JobRun, Trigger


def trigger_for(actor: Actor) -> str:
    """The trigger of the send runs an actor starts: the job log tells the two apart."""
    return Trigger.WORKFLOW if actor.automatic else Trigger.MANUAL


def job_actor(run: JobRun) -> Actor:
    """Who a send job's outcome is recorded as in the order history: the workflow that
    started it, the person, a REST client, or else the job itself and its trigger."""
    if run.trigger == Trigger.WORKFLOW:
        return workflow.automatic_workflow(
            PO_WORKFLOW if run.job_type == JobType.SEND_PURCHASE_ORDERS else SO_WORKFLOW
        )
    if run.requested_by_id:
        return Actor(run.requested_by.email, run.requested_by)
    if run.trigger == Trigger.MANUAL:
        return Actor("API")
    return Actor(f"{run.get_job_type_display()} job ({run.get_trigger_display()})")
