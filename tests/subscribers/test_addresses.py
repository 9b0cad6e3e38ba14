"""The fast path for plainly valid addresses agrees with email_validator, on a corpus of tricky
addresses and on random ones: it either gives email_validator's own normalized form, or
leaves the address to email_validator."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from newsletter.subscribers.lists import normalize_email, plain_address

CORPUS = [
    "reader@example.com",
    "Reader.One+news@Example.COM",
    "a_b-c%d@sub.example.co.kr",
    "x@e.io",
    "a@b.c",  # one-letter TLD
    "a@b.c0",  # TLD ending in a digit
    "a@123.456",
    "a@example",  # no dot
    "a@-example.com",
    "a@example-.com",
    "a@ex--ample.com",  # R-LDH label
    "a@xn--vv4b11d.kr",  # Punycode
    "a@xn--bad.kr",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@example..com",
    "a@.example.com",
    "a@example.com.",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a" * 70 + "@example.com",
    "a@" + ("b" * 63 + ".") * 3 + "com",
    "a@" + ("b" * 63 + ".") * 4 + "com",  # domain over 253
    "a@" + "b" * 64 + ".com",  # label over 63
    "r" * 64 + "@" + ("d" * 60 + ".") * 3 + "example.com",  # address over 254
    "postmaster@example.com",
    "PostMaster@example.com",
    "Abuse@Example.com",
    "a@localhost",
    "a@printer.local",
    "a@host.test",
    "a@x.invalid",
    "a@onion.onion",
    "a@in-addr.arpa",
    "a@example.LOCAL",
    "o'brien@example.com",
    "a{b}|c#d@example.com",
    "a=b?c@example.com",
    '"quoted"@example.com',
    "a b@example.com",
    "a@b@example.com",
    "민지@example.com",
    "a@예시.kr",
    "a@EXAMPLE.COM",
    "A@B.CO",
    "user@[192.168.0.1]",
    "Name <a@example.com>",
    " a@example.com ",
    "a@example.com\n",
    "",
    "@example.com",
    "a@",
    "a+@example.com",
    "-a@example.com",
    "a%b@example.com",
    "1234567890@example.com",
    "a@1example.com",
    "a@example.c-m",
    "a@exa_mple.com",
]


def validator(address: str) -> str | None:
    """email_validator's verdict as normalize_email uses it: the ASCII form, or None."""
    try:
        result = validate_email(
            address.strip(), check_deliverability=False, allow_smtputf8=False, strict=True
        )
    except EmailNotValidError:
        return None
    return result.ascii_email or result.normalized


def agrees(address: str) -> bool:
    fast = plain_address(address.strip())
    return fast is None or fast == validator(address)


@pytest.mark.parametrize("address", CORPUS)
def test_the_fast_path_agrees_with_email_validator(address: str) -> None:
    assert agrees(address)
    expected = validator(address)
    if expected is None:
        with pytest.raises(ValueError):
            normalize_email(address)
    else:
        assert normalize_email(address) == expected


def test_the_fast_path_agrees_on_random_addresses() -> None:
    rng = random.Random(3)
    local_chars = "abcXYZ019._%+-'#{}|"
    domain_chars = "abcXYZ019.-_"
    for _ in range(4000):
        local = "".join(rng.choice(local_chars) for _ in range(rng.randint(0, 70)))
        domain = "".join(rng.choice(domain_chars) for _ in range(rng.randint(0, 30)))
        tld = rng.choice(["com", "kr", "c", "c0", "local", "test", "COM", "xn--p1ai", ""])
        address = f"{local}@{domain}.{tld}" if tld else f"{local}@{domain}"
        assert agrees(address), address


def test_plain_addresses_take_the_fast_path() -> None:
    for address in (
        "reader0001@example.com",
        "Minji.Kim+news@Example.COM",
        "a_b-c@sub.example.co.kr",
    ):
        assert plain_address(address) == validator(address)
