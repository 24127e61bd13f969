"""Link profiles of the issue's benchmarks, per direction (the phone's access link)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinkProfile:
    """A mobile access link: rate cap each way, one-way delay added each way, random loss."""

    name: str
    rate_kbit: float
    delay_ms: float
    jitter_ms: float
    loss_percent: float

    def describe(self) -> str:
        if not self.rate_kbit:
            return f"{self.name}: no impairment"
        return (
            f"{self.name}: {self.rate_kbit:g} kbit/s each way, +{self.delay_ms:g} ms"
            f" ± {self.jitter_ms:g} ms each way, {self.loss_percent:g} % UDP loss each way"
        )


LAN = LinkProfile("loopback", 0, 0, 0, 0)
# "3G (400 kbps, 100 ms, 2 % loss)" from issue 4: 100 ms one way, in each direction (as a
# netem `delay 100ms` on each end would add), so the link adds 200 ms to the round trip.
THREE_G = LinkProfile("3G", 400, 100, 10, 2)
# "EDGE-like (150 kbps, 5 % loss)"; EDGE adds about 300 ms round trip.
EDGE = LinkProfile("EDGE", 150, 150, 40, 5)
