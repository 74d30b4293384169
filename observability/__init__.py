"""Cross-cutting concerns of every process: metrics, traces and logs.

It may be imported by api, cli, worker, services and activities; it imports none of them.
"""
