"""The outbox: one row per message, unique per (subscriber, message key), with a send state machine."""
