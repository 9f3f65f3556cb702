"""Tables of the web layer (admin accounts)."""
