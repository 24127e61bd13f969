"""Bad-network emulation on one Linux box, for browser tests and benchmarks.

This kernel has no netem (see shared/reference/webrtc.md, section 6.2), so the parts are:

* `namespace.Namespace`: a network namespace joined to the host by a veth pair, with a rate
  cap (tbf on both ends), random UDP loss (nftables `numgen random`), an address that can
  be swapped mid-call (`change_address`), as when a phone moves from Wi-Fi to mobile data, and
  a link that drops every packet both ways until restored (`cut_link`, `restore_link`).
* `relay.UdpRelay`: a userspace UDP relay that adds delay, jitter, random loss and a rate cap
  per direction (netem's job, done in Python); it can listen in one namespace and send from
  another.
* `tcp_forward.TcpForwarder`: carries the page's HTTP and websocket connections from inside a
  namespace to the app, optionally with delay and a rate cap, so the page keeps its
  `http://127.0.0.1:<port>` origin (a secure context) while its traffic crosses the veth.
* `coturn.Coturn`: our TURN server (Debian's coturn) on chosen addresses, with the TURN REST
  shared secret, started and stopped by process id.
* `profiles`: the link profiles the issue names (3G, EDGE).

Everything needs root (network namespaces, tc, nft); `require_root()` says why it cannot run.
"""

from tests.netem.coturn import Coturn
from tests.netem.namespace import Namespace, chromium_in_namespace, entered, require_root
from tests.netem.profiles import EDGE, LAN, THREE_G, LinkProfile
from tests.netem.relay import Impairment, UdpRelay
from tests.netem.tcp_forward import TcpForwarder

__all__ = [
    "EDGE",
    "LAN",
    "THREE_G",
    "Coturn",
    "Impairment",
    "LinkProfile",
    "Namespace",
    "TcpForwarder",
    "UdpRelay",
    "chromium_in_namespace",
    "entered",
    "require_root",
]
