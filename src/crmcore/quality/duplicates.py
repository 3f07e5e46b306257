"""Duplicates: normalised keys, blocking, scored pairs and suggested merges.

Needs the ``quality`` extra (``pip install "crmcore[quality]"``): phone
numbers are read by ``phonenumbers``, registrable domains by ``tldextract``
(its bundled public-suffix list, never the network), legal suffixes of
company names by ``cleanco`` and name similarity by ``rapidfuzz``. Each is
imported when first needed.
"""

from __future__ import annotations

import functools
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from email.utils import getaddresses
from typing import Any, Final

import attrs

from crmcore import validators as _v
from crmcore.access import field_getter, iterate
from crmcore.conditions import is_present
from crmcore.errors import DataError, DataTypeError, import_extra

__all__ = [
    "FREE_MAIL_DOMAINS",
    "PLUS_ADDRESSING",
    "DuplicateCluster",
    "DuplicateReport",
    "DuplicateRules",
    "Match",
    "company_domain",
    "find_duplicates",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
]

_EXTRA: Final = "quality"

FREE_MAIL_DOMAINS: Final = frozenset(
    {
        "aol.com",
        "fastmail.com",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.de",
        "hotmail.fr",
        "icloud.com",
        "laposte.net",
        "libero.it",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "orange.fr",
        "outlook.com",
        "outlook.de",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "rediffmail.com",
        "t-online.de",
        "tutanota.com",
        "web.de",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.de",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "ymail.com",
        "zoho.com",
        "163.com",
        "126.com",
    }
)
"""Domains of personal mailboxes: never a company's domain.

Pass your own set to [`DuplicateRules`][crmcore.quality.DuplicateRules] to
add the providers of your market.
"""

PLUS_ADDRESSING: Final = frozenset(
    {
        "fastmail.com",
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "icloud.com",
        "live.com",
        "me.com",
        "outlook.com",
        "pm.me",
        "proton.me",
        "protonmail.com",
    }
)
"""Providers that deliver ``name+tag@`` to ``name@``: only there is a tag dropped."""

_DOTLESS: Final = frozenset({"gmail.com", "googlemail.com"})
_ALIASES: Final = {"googlemail.com": "gmail.com"}


def normalize_email(text: object) -> str | None:
    """An email address in the one form two spellings of it share, or ``None``.

    The display name goes (``"Ada <ada@x.io>"``), the address is lower-cased,
    a ``+tag`` is dropped where the provider delivers it to the plain address
    (see [`PLUS_ADDRESSING`][crmcore.quality.PLUS_ADDRESSING]), and Gmail's
    dots and ``googlemail.com`` alias are folded. Anything that is not an
    address (no ``@``, an empty part) gives ``None``.

    Examples:
        >>> normalize_email("Ada Silva <Ada.Silva+crm@GoogleMail.com>")
        'adasilva@gmail.com'
        >>> normalize_email("ada+news@acme.io")
        'ada+news@acme.io'
        >>> print(normalize_email("not an address"))
        None
    """
    if not isinstance(text, str):
        return None
    address = text.strip()
    if any(mark in address for mark in '<"(,;'):  # a display name or a comment
        found = getaddresses([address])
        if len(found) != 1:  # several addresses are not one
            return None
        address = found[0][1]
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or not local or "@" in local or " " in address:
        return None
    domain = domain.rstrip(".")
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):  # "a@io", "a@.io", "a@b..io"
        return None
    if domain in PLUS_ADDRESSING:
        local = local.split("+", 1)[0]
    if domain in _DOTLESS:
        local = local.replace(".", "")
    if not local:
        return None
    return f"{local}@{_ALIASES.get(domain, domain)}"


@functools.lru_cache(maxsize=1)
def _extractor() -> Any:
    tldextract = import_extra("tldextract", _EXTRA)
    # The public-suffix list bundled with the package: no network, no cache.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def company_domain(
    text: object, *, free_mail: Iterable[str] = FREE_MAIL_DOMAINS
) -> str | None:
    """The registrable domain of a company, from an email address or a website.

    Subdomains go (``mail.acme.co.uk`` is ``acme.co.uk``, by the public-suffix
    list); a free-mail domain is a person's, not a company's, and gives
    ``None``, as does anything without a registrable domain.

    Examples:
        >>> company_domain("ada@eu.mail.acme.co.uk")
        'acme.co.uk'
        >>> company_domain("https://www.Acme.com/about")
        'acme.com'
        >>> print(company_domain("ada@gmail.com"))
        None
    """
    if not isinstance(text, str):
        return None
    blocked = (
        free_mail
        if isinstance(free_mail, frozenset | set)
        else _free_mail(free_mail, "free_mail")
    )
    host = text.strip().lower()
    if "://" in host or host.startswith("//"):  # a URL: its host, not its path
        host = host.split("//", 1)[1].split("/", 1)[0].rpartition("@")[2]
    elif "@" in host:
        host = host.rpartition("@")[2]
    host = host.split("/", 1)[0].split(":", 1)[0]
    parts = _extractor()(host.rstrip("."))
    if not parts.domain or not parts.suffix:
        return None
    domain = f"{parts.domain}.{parts.suffix}"
    return None if domain in blocked or host in blocked else domain


def normalize_phone(text: object, region: str | None = None) -> str | None:
    """A phone number in E.164 (``+442079460958``), or ``None`` when it is not one.

    National forms need the ``region`` (an ISO 3166 country code such as
    ``"GB"``) they are dialled in; international forms (``+44 ...``,
    ``0044 ...`` with a region) do not. Read by the ``phonenumbers`` library,
    which also decides what is a valid number.

    Examples:
        >>> normalize_phone("020 7946 0958", "GB")
        '+442079460958'
        >>> normalize_phone("+44 (0)20 7946 0958")
        '+442079460958'
        >>> print(normalize_phone("12345", "GB"))
        None
    """
    if not isinstance(text, str | int) or isinstance(text, bool):
        return None
    phonenumbers = import_extra("phonenumbers", _EXTRA)
    if region is not None and not isinstance(region, str):
        raise DataTypeError("region", region, "an ISO 3166 country code, or None")
    try:
        number = phonenumbers.parse(
            str(text), None if region is None else region.upper()
        )
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164


@functools.lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    if unicodedata.category(char)[0] in "PSZC":
        return " "
    return char


def normalize_name(text: object, *, company: bool = False) -> str:
    """A person's or a company's name as the key two spellings of it share.

    Accents go (``Müller`` is ``muller``), case is folded, punctuation and
    symbols become spaces, runs of spaces one; for a company the legal
    suffixes go first (``Acme, Inc.`` and ``ACME GmbH`` are ``acme``), by the
    ``cleanco`` library. Anything but a string gives ``""``.

    Examples:
        >>> normalize_name("  José  O'Brien-Núñez ")
        'jose o brien nunez'
        >>> normalize_name("Société Générale S.A.", company=True)
        'societe generale'
    """
    if not isinstance(text, str):
        return ""
    name: str = import_extra("cleanco", _EXTRA).basename(text) if company else text
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(
        _fold(char) for char in decomposed if not unicodedata.combining(char)
    )
    return " ".join(kept.casefold().split())


def _free_mail(values: object, label: str = "free_mail") -> frozenset[str]:
    items = _v.names(values, label, plural="a list of domains", item="a domain")
    return frozenset(item.lower() for item in items)


def _region(value: object) -> str | None:
    if value is None:
        return None
    phonenumbers = import_extra("phonenumbers", _EXTRA)
    if (
        not isinstance(value, str)
        or value.upper() not in phonenumbers.SUPPORTED_REGIONS
    ):
        raise DataError(
            "region", value, "an ISO 3166 country code such as 'GB', or None"
        )
    return value.upper()


def _threshold(value: object) -> int:
    if type(value) is not int or not 0 <= value <= 100:
        raise DataError("threshold", value, "a name similarity from 0 to 100")
    return value


def _max_block(value: object) -> int:
    if type(value) is not int or value < 2:
        raise DataError("max_block", value, "an int of at least 2")
    return value


_optional_path = _v.optional(_v.field_path())


@attrs.frozen
class DuplicateRules:
    """Which fields identify a record, and when two records are one.

    Keys are built per record: the normalised email, the phone in E.164, the
    company domain (from ``website``, else from a non-free email) and the
    normalised company name. Records sharing a key are *candidates*; a key
    shared by more than ``max_block`` records (a switchboard number, a
    catch-all address) means nothing and is ignored, and reported.

    A candidate pair is a duplicate when:

    1. the emails are the same; or
    2. they share a phone, a company domain or a company name, and their
       person names are at least ``threshold`` similar (``rapidfuzz``'s
       token-sort ratio, 0 to 100, so word order does not count); or
    3. for records without a person name field (``name=None``: accounts),
       the company domains or the normalised company names are the same.

    Attributes:
        id: The field holding each record's id (unique, hashable).
        email: The email field.
        phone: The phone field.
        name: The person-name field (``None`` for accounts).
        company: The company-name field.
        website: The company website field (its domain is a key).
        country: The field whose ISO country code reads national phone forms.
        region: The country code for records without ``country``.
        threshold: How similar names must be, 0 to 100.
        max_block: The most records a key may be shared by.
        free_mail: Domains of personal mailboxes, never a company's.
    """

    id: str = attrs.field(default="id", validator=_v.field_path())
    email: str | None = attrs.field(
        default="email", validator=_optional_path, kw_only=True
    )
    phone: str | None = attrs.field(
        default="phone", validator=_optional_path, kw_only=True
    )
    name: str | None = attrs.field(
        default="name", validator=_optional_path, kw_only=True
    )
    company: str | None = attrs.field(
        default=None, validator=_optional_path, kw_only=True
    )
    website: str | None = attrs.field(
        default=None, validator=_optional_path, kw_only=True
    )
    country: str | None = attrs.field(
        default="country", validator=_optional_path, kw_only=True
    )
    region: str | None = attrs.field(default=None, converter=_region, kw_only=True)
    threshold: int = attrs.field(default=90, converter=_threshold, kw_only=True)
    max_block: int = attrs.field(default=50, converter=_max_block, kw_only=True)
    free_mail: frozenset[str] = attrs.field(
        default=FREE_MAIL_DOMAINS, converter=_free_mail, kw_only=True
    )


@attrs.frozen
class Match:
    """Two records found to be one, and why.

    Attributes:
        first: The id of one record (the smaller, as text).
        second: The id of the other.
        keys: The keys they share: ``email``, ``phone``, ``domain``, ``company``.
        similarity: How similar their person names are (0 to 100), or
            ``None`` when either has none.
    """

    first: object
    second: object
    keys: tuple[str, ...]
    similarity: int | None

    def __str__(self) -> str:
        names = "" if self.similarity is None else f", names {self.similarity}% alike"
        return f"{self.first} = {self.second}: same {' and '.join(self.keys)}{names}"


@attrs.frozen
class DuplicateCluster:
    """Records that are one, with a suggested merge.

    Attributes:
        ids: Every record's id, sorted as text.
        keep: The suggested survivor: the record with the most identifying
            fields filled (then the smallest id).
        matches: The pairs that joined them, with their reasons.
    """

    ids: tuple[object, ...]
    keep: object
    matches: tuple[Match, ...]

    @property
    def merge(self) -> tuple[object, ...]:
        """The ids to merge into ``keep``."""
        return tuple(i for i in self.ids if i != self.keep)


@attrs.frozen
class DuplicateReport:
    """Every cluster of duplicates among records.

    Attributes:
        records: How many records were read.
        clusters: The clusters, sorted by their first id.
        candidates: How many candidate pairs were scored.
        ignored: Keys shared by more than ``max_block`` records, with their
            counts, the most common first.
    """

    records: int
    clusters: tuple[DuplicateCluster, ...]
    candidates: int
    ignored: tuple[tuple[str, int], ...]

    @property
    def duplicates(self) -> int:
        """How many records would be merged away."""
        return sum(len(c.ids) - 1 for c in self.clusters)


@attrs.frozen
class _Entry:
    id: object
    keys: tuple[str, ...]
    name: str
    filled: int


def _text_key(value: object) -> tuple[str, str]:
    """How ids are ordered: as text, then by type (1 and "1" are two ids)."""
    return str(value), type(value).__name__


def find_duplicates(
    records: Iterable[Any], rules: DuplicateRules | None = None
) -> DuplicateReport:
    """Clusters of duplicate records, each with a suggested merge and its reasons.

    Reads each record once to build its keys, groups the records by key,
    scores the pairs within each group (see
    [`DuplicateRules`][crmcore.quality.DuplicateRules]) and joins the
    duplicates with union-find. The clusters do not depend on the order of
    the records. Time is linear in the records plus the candidate pairs,
    which ``max_block`` bounds.

    Raises:
        DataError: For a record without an id or with an id another has.
        DataTypeError: For an id that cannot be a key (a list).
        MissingExtraError: Without the ``quality`` extra.

    Examples:
        >>> report = find_duplicates([
        ...     {"id": 1, "name": "Ada Silva", "email": "Ada.Silva@gmail.com"},
        ...     {"id": 2, "name": "Ada Silva", "email": "adasilva+crm@gmail.com"},
        ...     {"id": 3, "name": "Silva, Ada", "email": "ada@acme.io"},
        ...     {"id": 4, "name": "Ada Silva", "email": "a.silva@acme.io"},
        ... ])
        >>> for cluster in report.clusters:
        ...     print(cluster.ids, [str(m) for m in cluster.matches])
        (1, 2) ['1 = 2: same email, names 100% alike']
        (3, 4) ['3 = 4: same domain, names 100% alike']
    """
    rules = DuplicateRules() if rules is None else rules
    if not isinstance(rules, DuplicateRules):
        raise DataTypeError("rules", rules, "DuplicateRules or None")
    entries = _entries(records, rules)
    blocks: defaultdict[str, list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        for key in entry.keys:
            blocks[key].append(index)
    ignored = sorted(
        (
            (key, len(members))
            for key, members in blocks.items()
            if len(members) > rules.max_block
        ),
        key=lambda item: (-item[1], item[0]),
    )
    shared: defaultdict[tuple[int, int], list[str]] = defaultdict(list)
    for key, members in blocks.items():
        if len(members) < 2 or len(members) > rules.max_block:
            continue
        kind = key.split(":", 1)[0]
        for position, first in enumerate(members):
            for second in members[position + 1 :]:
                shared[first, second].append(kind)
    ratio = import_extra("rapidfuzz.fuzz", _EXTRA).token_sort_ratio if shared else None
    parent = list(range(len(entries)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    matches: list[tuple[int, int, Match]] = []
    for (first, second), kinds in shared.items():
        a, b = entries[first], entries[second]
        similarity = (
            round(ratio(a.name, b.name))
            if ratio is not None and a.name and b.name
            else None
        )
        keys = tuple(sorted(set(kinds), key=_KEY_ORDER.index))
        if not _is_duplicate(keys, similarity, rules):
            continue
        low, high = sorted((a, b), key=lambda e: _text_key(e.id))
        matches.append((first, second, Match(low.id, high.id, keys, similarity)))
        parent[root(first)] = root(second)
    groups: defaultdict[int, list[int]] = defaultdict(list)
    for index in range(len(entries)):
        groups[root(index)].append(index)
    joined: defaultdict[int, list[Match]] = defaultdict(list)
    for first, _, match in matches:
        joined[root(first)].append(match)
    clusters = []
    for top, indices in groups.items():
        if len(indices) < 2:
            continue
        group = [entries[i] for i in indices]
        ids = tuple(sorted((e.id for e in group), key=_text_key))
        keep = min(group, key=lambda e: (-e.filled, _text_key(e.id))).id
        found = sorted(
            joined[top], key=lambda m: (_text_key(m.first), _text_key(m.second))
        )
        clusters.append(DuplicateCluster(ids, keep, tuple(found)))
    clusters.sort(key=lambda c: _text_key(c.ids[0]))
    return DuplicateReport(len(entries), tuple(clusters), len(shared), tuple(ignored))


_KEY_ORDER: Final = ("email", "phone", "domain", "company")


def _is_duplicate(
    keys: tuple[str, ...], similarity: int | None, rules: DuplicateRules
) -> bool:
    if "email" in keys:
        return True
    if rules.name is None:
        return "domain" in keys or "company" in keys
    alike = similarity is not None and similarity >= rules.threshold
    return alike and bool(keys)


def _entries(records: Iterable[Any], rules: DuplicateRules) -> list[_Entry]:
    def reader(path: str | None) -> Any:
        return (lambda record: None) if path is None else field_getter(path)

    id_of = field_getter(rules.id)
    email_of, phone_of, name_of = (
        reader(rules.email),
        reader(rules.phone),
        reader(rules.name),
    )
    company_of, website_of = reader(rules.company), reader(rules.website)
    country_of = reader(rules.country)
    seen: dict[object, int] = {}
    entries = []
    for index, record in enumerate(iterate(records)):
        identity = id_of(record)
        if not is_present(identity):
            raise DataError(f"records[{index}].{rules.id}", identity, "an id")
        try:
            first = seen.setdefault(identity, index)
        except TypeError:
            raise DataTypeError(
                f"records[{index}].{rules.id}",
                identity,
                "a hashable id (a text or a number)",
            ) from None
        if first != index:
            raise DataError(
                f"records[{index}].{rules.id}",
                identity,
                f"an id no other record has (records[{first}] has it)",
            )
        keys: list[str] = []
        email = normalize_email(email_of(record))
        if email is not None:
            keys.append(f"email:{email}")
        country = country_of(record)
        region = (
            country.upper()
            if isinstance(country, str) and len(country) == 2
            else rules.region
        )
        phone = normalize_phone(phone_of(record), region)
        if phone is not None:
            keys.append(f"phone:{phone}")
        domain = company_domain(website_of(record), free_mail=rules.free_mail)
        if domain is None and email is not None:
            domain = company_domain(email, free_mail=rules.free_mail)
        if domain is not None:
            keys.append(f"domain:{domain}")
        company = normalize_name(company_of(record), company=True)
        if company:
            keys.append(f"company:{company}")
        name = normalize_name(name_of(record))
        filled = sum(
            is_present(read(record))
            for read in (email_of, phone_of, name_of, company_of, website_of)
        )
        entries.append(_Entry(identity, tuple(keys), name, filled))
    return entries
