"""Where webhooks may be sent (SPEC §8): https to public addresses; private, loopback, link-local, reserved,
multicast and unspecified addresses only when every resolved address lies inside an allowed network (then
plain http is accepted too). No Django imports: the caller passes the allowed networks.

Checked when an endpoint is saved and again before every attempt (DNS may have changed in between), and a
third time on the connected socket itself (``peer_check``, called by the sender's connection class): a host
whose DNS answer changes between the check and the connection (DNS rebinding) cannot reach a private address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressNotAllowed(Exception):
    """The URL may not receive webhooks; ``code`` is stable, the message names the reason (never the URL's
    path or query, which may embed a token)."""

    def __init__(self, message: str, *, code: str = "url_not_allowed") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CheckedAddress:
    host: str
    addresses: tuple[str, ...]
    in_allowed_network: bool


def networks_parse(cidrs: Iterable[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c and c.strip()]


def address_is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_is_public(address.ipv4_mapped)
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def _why_not_public(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _why_not_public(address.ipv4_mapped)
    for attribute, label in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(address, attribute):
            return label
    return "non-public"


def peer_check(peer: str, *, allowed_networks: Sequence[str]) -> None:
    """Raise ``AddressNotAllowed`` unless the address a socket actually connected to may receive webhooks:
    a public address, or one inside an allowed network."""
    address = ipaddress.ip_address(peer.split("%", 1)[0])
    if address_is_public(address):
        return
    if any(address in network for network in networks_parse(allowed_networks)):
        return
    raise AddressNotAllowed(
        f"The connection reached a {_why_not_public(address)} address ({address}), "
        "which is not in WEBHOOK_ALLOWED_NETWORKS.",
        code="peer_not_allowed",
    )


def host_resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressNotAllowed(f"The host {host!r} does not resolve.", code="url_unresolvable") from exc
    seen: dict[str, IPAddress] = {}
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        seen.setdefault(raw, ipaddress.ip_address(raw))
    if not seen:
        raise AddressNotAllowed(f"The host {host!r} does not resolve.", code="url_unresolvable")
    return list(seen.values())


def url_check(url: str, *, allowed_networks: Sequence[str]) -> CheckedAddress:
    """Raise ``AddressNotAllowed`` unless ``url`` may receive webhooks."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise AddressNotAllowed("The URL is not valid.") from exc
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("https", "http") or not host:
        raise AddressNotAllowed("The URL must be an absolute https:// URL.")
    if parts.username or parts.password:
        raise AddressNotAllowed("The URL must not carry credentials (user:password@).")
    addresses = host_resolve(host, port or (443 if scheme == "https" else 80))
    networks = networks_parse(allowed_networks)
    in_allowed = bool(networks) and all(any(a in n for n in networks) for a in addresses)
    if not in_allowed:
        refused = [a for a in addresses if not address_is_public(a)]
        if refused:
            raise AddressNotAllowed(
                f"The host {host!r} resolves to a {_why_not_public(refused[0])} address ({refused[0]}), "
                "which is not in WEBHOOK_ALLOWED_NETWORKS."
            )
        if scheme != "https":
            raise AddressNotAllowed("The URL must use https:// (plain http only inside an allowed network).")
    return CheckedAddress(
        host=host, addresses=tuple(str(a) for a in addresses), in_allowed_network=in_allowed
    )
