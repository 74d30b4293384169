"""Tenure's Stripe emulator: the API subset the engine uses, in endive shapes.

Start it with `EmulatorServer` (tests) or ``python -m devstack.stripe_emulator``.
See docs/stripe-emulator.md.
"""
