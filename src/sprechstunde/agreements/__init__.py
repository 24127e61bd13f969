"""Cooperation plans (Kooperationsplan) and decisions (Bescheide)."""
