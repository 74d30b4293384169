"""The contract between workflows and activities: messages, activity references, error codes.

Pure data over `billing`'s types (stdlib, pydantic and `temporalio.common` only), so workflows
import it inside their sandbox (passed through, `worker.composition.workflow_runner`) and
activities implement it without importing `workflows`.
"""
