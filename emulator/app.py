"""The emulator object: options, state, journal, faults, rate limits, deliveries and the routes."""

from __future__ import annotations

import copy
import itertools

from emulator import (
    control,
    iam,
    kms_key_actions,
    kms_key_policies,
    kms_keys,
    kms_policies,
    registrations,
    resource_controller,
)
from emulator.delivery import Deliveries
from emulator.faults import Faults, RateLimits
from emulator.journal import Journal
from emulator.options import Options
from emulator.state import Store
from emulator.web import Router


class Emulator:
    def __init__(self, options: Options) -> None:
        self.startup = copy.deepcopy(options)
        self.options = options
        self.store = Store(options.seed, options.state_file)
        self.journal = Journal()
        self.faults = Faults()
        self.rate_limits = RateLimits()
        self.deliveries = Deliveries(self)
        self._offsets = itertools.count(1)
        self.router = Router()
        for module in (iam, kms_policies, kms_keys, kms_key_actions, kms_key_policies, resource_controller,
                       control, registrations):
            module.register(self.router, self)

    def next_offset(self) -> int:
        return next(self._offsets)

    def reset(self) -> None:
        """State back to the seed; journal, faults, rate limits, deliveries and settings cleared."""
        self.journal.clear()
        self.faults.clear()
        self.rate_limits.clear()
        self.deliveries.clear()
        for name in self.options.switches():
            setattr(self.options, name, getattr(self.startup, name))
        self.store.reset()
