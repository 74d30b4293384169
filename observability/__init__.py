"""Cross-cutting concerns of every process: metrics (and, from other parts of issue 19, traces and logs).

It may be imported by api, cli, worker, services and activities; it imports none of them.
"""
