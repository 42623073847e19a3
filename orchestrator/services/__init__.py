"""Business services: each takes a Session and does one unit of work, or refuses it whole."""
