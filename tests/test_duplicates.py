"""Duplicates: normalised keys, worked examples checked by hand, clustering laws."""

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import DataError, DataTypeError, MissingExtraError
from crmcore.quality import (
    FREE_MAIL_DOMAINS,
    DuplicateRules,
    company_domain,
    find_duplicates,
    normalize_email,
    normalize_name,
    normalize_phone,
)


# ---------------------------------------------------------------------------
# Emails
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ada@Acme.IO", "ada@acme.io"),
        ("Ada Silva <ada@acme.io>", "ada@acme.io"),
        ('"Silva, Ada" <ada@acme.io>', "ada@acme.io"),
        # Gmail: dots and tags are ignored, googlemail is gmail.
        ("a.d.a+crm@gmail.com", "ada@gmail.com"),
        ("ADA@googlemail.com", "ada@gmail.com"),
        # Outlook delivers tags, keeps dots.
        ("ada.silva+news@outlook.com", "ada.silva@outlook.com"),
        # A company's own server: a tag may be a different mailbox; keep it.
        ("ada+news@acme.io", "ada+news@acme.io"),
        ("ada@acme.io.", "ada@acme.io"),
        ("not an address", None),
        ("ada@", None),
        ("@acme.io", None),
        ("ada@localhost", None),
        ("a@b@acme.io", None),
        ("ada silva@acme.io", None),
        ("ada@acme.io (Ada Silva)", "ada@acme.io"),
        ("a@b.io, c@d.io", None),  # two addresses are not one
        ("a@b.c,d", None),
        ("a@.io", None),
        ("a@b..io", None),
        ("+tag@gmail.com", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_emails_normalise_as_their_providers_deliver(text, expected):
    assert normalize_email(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ada@eu.mail.acme.co.uk", "acme.co.uk"),
        ("ada@acme.co.uk", "acme.co.uk"),
        ("https://www.Acme.com/about?x=1", "acme.com"),
        ("acme.com:8080", "acme.com"),
        ("https://medium.com/@acme", "medium.com"),
        ("//www.acme.com/x", "acme.com"),
        ("https://user@shop.acme.com", "acme.com"),
        ("shop.acme.com.au", "acme.com.au"),
        ("ada@gmail.com", None),  # a person's mailbox, not a company
        ("ada@yahoo.co.uk", None),
        ("localhost", None),
        ("192.168.0.1", None),
        ("", None),
        (None, None),
    ],
)
def test_company_domains_drop_subdomains_and_free_mail(text, expected):
    assert company_domain(text) == expected


def test_free_mail_is_yours_to_extend():
    assert company_domain("ada@acme.io", free_mail={"acme.io"}) is None
    assert company_domain("ada@acme.io", free_mail=["other.io"]) == "acme.io"
    assert "gmail.com" in FREE_MAIL_DOMAINS


# ---------------------------------------------------------------------------
# Phones and names
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "DE", "+442079460958"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+1 415-555-2671", None, "+14155552671"),
        ("030 123456", "DE", "+4930123456"),
        ("020 7946 0958", None, None),  # national form, no region to read it
        ("12345", "GB", None),
        ("call me", "GB", None),
        (4930123456, "DE", "+4930123456"),  # an int: 49 read as the country code
        (True, "GB", None),
        (None, "GB", None),
    ],
)
def test_phones_become_e164(text, region, expected):
    assert normalize_phone(text, region) == expected


@pytest.mark.parametrize(
    ("text", "company", "expected"),
    [
        ("  José  O'Brien-Núñez ", False, "jose o brien nunez"),
        ("ZOË Ångström", False, "zoe angstrom"),
        ("Acme, Inc.", True, "acme"),
        ("ACME GmbH", True, "acme"),
        ("Müller GmbH", True, "muller"),
        ("Société Générale S.A.", True, "societe generale"),
        ("Oakpath Systems Ltd", True, "oakpath systems"),
        ("Smith & Sons Ltd", True, "smith sons"),
        (None, True, ""),
    ],
)
def test_names_lose_accents_punctuation_and_legal_suffixes(text, company, expected):
    assert normalize_name(text, company=company) == expected


# ---------------------------------------------------------------------------
# Worked examples
# ---------------------------------------------------------------------------
def clusters(records, rules=None):
    return [cluster.ids for cluster in find_duplicates(records, rules).clusters]


def test_free_mail_addresses_are_people_not_companies():
    records = [
        {"id": 1, "name": "John Smith", "email": "john.smith@gmail.com"},
        {"id": 2, "name": "John Smith", "email": "jsmith@gmail.com"},
        {"id": 3, "name": "John Smith", "email": "john.smith@acme.io"},
        {"id": 4, "name": "John Smith", "email": "jsmith@acme.io"},
        {"id": 5, "name": "J. Smith", "email": "j.o.h.n.smith+crm@googlemail.com"},
    ]
    report = find_duplicates(records)
    # 1 and 5: one Gmail mailbox. 1 and 2 share only gmail.com, which says
    # nothing. 3 and 4: the same name at the same company domain.
    assert [c.ids for c in report.clusters] == [(1, 5), (3, 4)]
    first, second = report.clusters
    # "john smith" and "j smith": the 7 characters of the shorter are a
    # common subsequence, 2 * 7 / (10 + 7) = 82%.
    assert [str(m) for m in first.matches] == ["1 = 5: same email, names 82% alike"]
    assert [str(m) for m in second.matches] == ["3 = 4: same domain, names 100% alike"]
    assert report.duplicates == 2
    assert report.records == 5


def test_subdomains_are_the_same_company():
    records = [
        {"id": "a", "name": "Ada Silva", "email": "ada@eu.mail.acme.co.uk"},
        {"id": "b", "name": "Silva Ada", "email": "a.silva@acme.co.uk"},
        {"id": "c", "name": "Bo Chen", "email": "bo@acme.co.uk"},
    ]
    (cluster,) = find_duplicates(records).clusters
    assert cluster.ids == ("a", "b")
    assert cluster.matches[0].keys == ("domain",)
    assert cluster.matches[0].similarity == 100  # word order does not count


def test_phones_in_national_and_international_forms_match():
    records = [
        {"id": 1, "name": "Ada Silva", "phone": "020 7946 0958", "country": "gb"},
        {"id": 2, "name": "Ada Silva", "phone": "+44 20 7946 0958"},
        {"id": 3, "name": "Bo Chen", "phone": "+44 (0)20 7946 0958"},
        {"id": 4, "name": "Ada Silvá", "phone": "(415) 555-2671", "country": "US"},
        {"id": 5, "name": "Ada Silva", "phone": "+1 415 555 2671"},
    ]
    report = find_duplicates(records)
    # 3 shares the number but not the name: a colleague on the same line.
    assert [c.ids for c in report.clusters] == [(1, 2), (4, 5)]
    assert report.clusters[1].matches[0].keys == ("phone",)
    assert report.candidates == 4  # 1-2, 1-3, 2-3 on one number; 4-5


def test_a_region_reads_national_forms_of_records_without_a_country():
    records = [
        {"id": 1, "name": "Ada Silva", "phone": "030 123456"},
        {"id": 2, "name": "Ada Silva", "phone": "+49 30 123456"},
    ]
    assert clusters(records) == []
    assert clusters(records, DuplicateRules(region="DE")) == [(1, 2)]


def test_accounts_with_legal_suffixes_and_accents_are_one_company():
    rules = DuplicateRules(name=None, company="name", website="website", phone=None)
    records = [
        {"id": 1, "name": "Müller GmbH", "website": None},
        {"id": 2, "name": "Muller", "website": "https://muller.example"},
        {"id": 3, "name": "Société Générale S.A.", "website": "societegenerale.fr"},
        {"id": 4, "name": "Societe Generale", "website": None},
        {"id": 5, "name": "SG Bank", "website": "www.societegenerale.fr"},
        {"id": 6, "name": "Acme Inc.", "website": "acme.com"},
        {"id": 7, "name": "Acme Robotics", "website": "acmerobotics.com"},
    ]
    report = find_duplicates(records, rules)
    assert [c.ids for c in report.clusters] == [(1, 2), (3, 4, 5)]
    societe = report.clusters[1]
    assert [(m.first, m.second, m.keys) for m in societe.matches] == [
        (3, 4, ("company",)),
        (3, 5, ("domain",)),
    ]
    assert societe.keep == 3  # the most identifying fields filled
    assert societe.merge == (4, 5)


def test_duplicates_chain_into_one_cluster():
    records = [
        {"id": 3, "name": "Ada Silva", "email": "ada@acme.io", "phone": "+4930123456"},
        {"id": 1, "name": "Ada Silva", "email": "ada@acme.io"},
        {
            "id": 2,
            "name": "A. Silva",
            "phone": "+49 30 123456",
        },
    ]
    rules = DuplicateRules(threshold=80)
    (cluster,) = find_duplicates(records, rules).clusters
    assert cluster.ids == (1, 2, 3)
    assert cluster.keep == 3
    assert [(m.first, m.second) for m in cluster.matches] == [(1, 3), (2, 3)]
    assert cluster.matches[1].keys == ("phone",)
    # "a silva" and "ada silva": 2 * 7 / (7 + 9) = 87.5%, rounded to even.
    assert cluster.matches[1].similarity == 88
    assert cluster.matches[0].keys == ("email", "domain")


def test_keys_too_common_to_mean_anything_are_ignored_and_reported():
    switchboard = [
        {"id": i, "name": "Ada Silva", "phone": "+44 20 7946 0000"} for i in range(6)
    ]
    report = find_duplicates(switchboard, DuplicateRules(max_block=5))
    assert report.clusters == ()
    assert report.ignored == (("phone:+442079460000", 6),)
    assert report.candidates == 0
    assert len(find_duplicates(switchboard).clusters) == 1


def test_a_company_name_and_a_similar_person_name_are_one_contact():
    rules = DuplicateRules(company="company")
    records = [
        {"id": 1, "name": "Ada Silva", "company": "Acme Inc", "email": "x@gmail.com"},
        {"id": 2, "name": "Ada Silva", "company": "ACME", "email": "ada@acme.io"},
        {"id": 3, "name": "Bo Chen", "company": "Acme"},
    ]
    (cluster,) = find_duplicates(records, rules).clusters
    assert cluster.ids == (1, 2)
    assert cluster.matches[0].keys == ("company",)


def test_records_without_names_never_match_on_a_phone_alone():
    records = [{"id": 1, "phone": "+4930123456"}, {"id": 2, "phone": "+4930123456"}]
    report = find_duplicates(records)
    assert report.clusters == () and report.candidates == 1


def test_objects_are_read_like_dicts():
    class Contact:
        def __init__(self, id, email):
            self.id, self.email = id, email

    found = find_duplicates(
        [Contact("x", "ada@acme.io"), Contact("y", "ADA@acme.io")],
        DuplicateRules(name=None, phone=None, country=None),
    )
    assert found.clusters[0].ids == ("x", "y")
    assert found.clusters[0].matches[0].similarity is None


def test_bad_records_and_rules_name_the_path():
    with pytest.raises(DataError, match=r"records\[1\]\.id: expected an id no other"):
        find_duplicates([{"id": 1}, {"id": 1}])
    with pytest.raises(DataError, match=r"records\[0\]\.id: expected an id"):
        find_duplicates([{"email": "a@b.io"}])
    with pytest.raises(DataTypeError, match=r"records\[0\]\.id: expected a hashable"):
        find_duplicates([{"id": ["x"]}])
    with pytest.raises(DataTypeError, match="rules: expected DuplicateRules"):
        find_duplicates([], "email")
    with pytest.raises(DataError, match="threshold: expected a name similarity"):
        DuplicateRules(threshold=101)
    with pytest.raises(DataError, match="max_block: expected an int of at least 2"):
        DuplicateRules(max_block=1)
    with pytest.raises(DataTypeError, match="free_mail: expected a list of domains"):
        DuplicateRules(free_mail="gmail.com")
    with pytest.raises(DataTypeError, match="records: expected an iterable"):
        find_duplicates(5)
    assert find_duplicates([]).clusters == ()


def test_a_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "phonenumbers", None)
    with pytest.raises(MissingExtraError, match=r"crmcore\[quality\]"):
        normalize_phone("+4930123456")


# ---------------------------------------------------------------------------
# Laws
# ---------------------------------------------------------------------------
NAMES = ["Ada Silva", "Silva Ada", "Ada Silvá", "Bo Chen", "B. Chen", None]
EMAILS = ["ada@acme.io", "ADA@acme.io", "bo@acme.io", "ada@gmail.com", None]
PHONES = ["+4930123456", "+49 30 123456", "+14155552671", None]


@st.composite
def contact_lists(draw):
    size = draw(st.integers(0, 12))
    return [
        {
            "id": index,
            "name": draw(st.sampled_from(NAMES)),
            "email": draw(st.sampled_from(EMAILS)),
            "phone": draw(st.sampled_from(PHONES)),
        }
        for index in range(size)
    ]


@given(contact_lists(), st.randoms(), st.integers(2, 6))
def test_clusters_do_not_depend_on_the_order_of_records(records, random, block):
    rules = DuplicateRules(max_block=block)
    shuffled = list(records)
    random.shuffle(shuffled)
    assert find_duplicates(shuffled, rules) == find_duplicates(records, rules)


@given(contact_lists())
def test_clusters_partition_the_records_their_matches_join(records):
    report = find_duplicates(records)
    seen = [i for cluster in report.clusters for i in cluster.ids]
    assert len(seen) == len(set(seen))
    for cluster in report.clusters:
        # The matches connect every id of the cluster (a spanning forest).
        reached = {cluster.ids[0]}
        for _ in cluster.ids:
            for match in cluster.matches:
                if {match.first, match.second} & reached:
                    reached |= {match.first, match.second}
        assert reached == set(cluster.ids)
        assert cluster.keep in cluster.ids
        assert len(cluster.matches) >= len(cluster.ids) - 1


def test_regions_are_country_codes_in_any_case():
    assert normalize_phone("020 7946 0958", "gb") == "+442079460958"
    assert DuplicateRules(region="gb").region == "GB"
    with pytest.raises(DataError, match="region: expected an ISO 3166 country code"):
        DuplicateRules(region="Mars")
    with pytest.raises(DataTypeError, match="region: expected an ISO 3166"):
        normalize_phone("020 7946 0958", 44)
    with pytest.raises(DataTypeError, match="free_mail: expected a list of domains"):
        company_domain("a@b.io", free_mail=5)


def test_ids_of_different_types_are_ordered_the_same_way_in_any_order():
    records = [
        {"id": 1, "email": "a@acme.io"},
        {"id": "1", "email": "a@acme.io"},
        {"id": 2, "email": "a@acme.io"},
    ]
    rules = DuplicateRules(name=None, phone=None, country=None)
    assert find_duplicates(records, rules) == find_duplicates(records[::-1], rules)
