"""The application services: every operation of the API, the CLI and `tenure simulate`, once.

Each service receives its unit of work, the `TenureClient`, the payment gateway and a clock,
returns typed results and refuses with `billing.errors.DomainError` only; the edges parse,
call and map errors, nothing more.
"""

from services.compose import Services, build_services, services_for

__all__ = ["Services", "build_services", "services_for"]
