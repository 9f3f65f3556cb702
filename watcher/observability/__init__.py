"""Operations: structured logging, Prometheus metrics and readiness checks (no web code here)."""
