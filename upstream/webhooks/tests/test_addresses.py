"""The address policy: https to public addresses; private ranges only inside WEBHOOK_ALLOWED_NETWORKS."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from upstream.webhooks.addresses import AddressNotAllowed, url_check


def _resolves_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_public_https_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolves_to(monkeypatch, "93.184.216.34")
    checked = url_check("https://hooks.example.com/x?token=abc", allowed_networks=[])
    assert checked.addresses == ("93.184.216.34",)
    assert checked.in_allowed_network is False


def test_public_plain_http_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolves_to(monkeypatch, "93.184.216.34")
    with pytest.raises(AddressNotAllowed, match="must use https"):
        url_check("http://hooks.example.com/x", allowed_networks=[])


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.10", "private"),
        ("172.16.0.5", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address under test, nothing binds)
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_non_public_addresses_are_refused(monkeypatch: pytest.MonkeyPatch, address: str, label: str) -> None:
    _resolves_to(monkeypatch, address)
    with pytest.raises(AddressNotAllowed, match=f"resolves to a {label} address") as raised:
        url_check("https://internal.example.com/hook", allowed_networks=[])
    assert raised.value.code == "url_not_allowed"


def test_one_private_address_among_public_ones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolves_to(monkeypatch, "93.184.216.34", "10.0.0.7")
    with pytest.raises(AddressNotAllowed, match="private address"):
        url_check("https://mixed.example.com/", allowed_networks=[])


def test_allowed_network_admits_private_addresses_and_plain_http() -> None:
    checked = url_check("http://127.0.0.1:8080/hook", allowed_networks=["127.0.0.0/8"])
    assert checked.in_allowed_network is True
    with pytest.raises(AddressNotAllowed, match="loopback"):
        url_check("http://127.0.0.1:8080/hook", allowed_networks=["10.0.0.0/8"])


def test_every_address_must_be_inside_the_allowed_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolves_to(monkeypatch, "10.0.0.7", "192.168.0.7")
    with pytest.raises(AddressNotAllowed, match="private"):
        url_check("http://onprem.example.com/", allowed_networks=["10.0.0.0/8"])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/", "absolute https"),
        ("https://", "absolute https"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://hooks.example.com:99999/", "not valid"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(AddressNotAllowed, match=message):
        url_check(url, allowed_networks=[])


def test_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(AddressNotAllowed, match="does not resolve") as raised:
        url_check("https://nope.invalid/", allowed_networks=[])
    assert raised.value.code == "url_unresolvable"
