"""The fuzz tests: Hypothesis properties over every parser that reads outside input.

The profile comes from HYPOTHESIS_PROFILE ("ci" unless `make fuzz` sets "fuzz"); see
profiles.py.
"""

from hypothesis import settings

from .profiles import active_profile

settings.load_profile(active_profile())
