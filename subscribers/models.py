"""Tables owned by the delivery side: subscribers, preferences, topics, consent log, outbox."""
