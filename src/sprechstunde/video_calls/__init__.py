"""Call sessions, waiting room, signalling consumer, TURN credentials."""
