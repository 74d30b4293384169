"""Cross-cutting concerns of every process: metrics, traces and logs."""
