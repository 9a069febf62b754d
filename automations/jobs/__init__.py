"""The engine's jobs: `runner` runs one JobRun; the other modules hold one handler per
channel job type, grouped by what moves (orders in, stock and tracking out, products,
documents to and from the warehouse), plus the real-time push and the system jobs.
Importing the package registers every handler with the runner."""

from . import fulfillment_in, fulfillment_out, products, sales  # noqa: F401  (registration)
