"""CRN parsing: strict, and every malformed shape is an InvalidTarget (a 400), never a crash."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.crn import parse_crn, require_kms_instance
from shared.errors import InvalidTarget

ACCOUNT = "1a2b3c4d5e6f708192a3b4c5d6e7f809"
GUID = "6f1d2c3b-4a59-4e68-9d7c-0b1a2f3e4d5c"
KP = f"crn:v1:bluemix:public:kms:eu-de:a/{ACCOUNT}:{GUID}::"


def test_instance_crn_parts():
    """A Key Protect instance CRN splits into service, region, account and instance GUID."""
    crn = parse_crn(KP)
    assert (crn.service, crn.location, crn.account, crn.instance) == ("kms", "eu-de", ACCOUNT, GUID)
    assert crn.is_instance and crn.is_kms and str(crn) == KP


def test_key_crn_is_not_an_instance():
    """A key CRN parses but is not an instance CRN."""
    crn = parse_crn(f"crn:v1:bluemix:public:kms:us-south:a/{ACCOUNT}:{GUID}:key:abc")
    assert not crn.is_instance
    with pytest.raises(InvalidTarget):
        require_kms_instance(crn)


@pytest.mark.parametrize(
    "text",
    [
        "crn:v1:bluemix",
        "",
        "crn:v2:bluemix:public:kms:us-south:a/x:y::",
        f"crn:v1:bluemix:public:kms:us-south:{ACCOUNT}:{GUID}::",
        f"crn:v1:bluemix:public:kms:us-south:a/{ACCOUNT}:{GUID}\r\nX-Evil: 1::",
        f"crn:v1:bluemix:public:kms:us-south:a/{ACCOUNT}:{GUID}\n::",
        f"crn:v1:bluemix:public:KMS:us-south:a/{ACCOUNT}:{GUID}::",
        "crn:v1:bluemix:public:kms:us-south:a/" + "a" * 600 + "::",
        f"crn:v1:bluemix:public:kms:us-south:a/{ACCOUNT}:{GUID}::extra:",
        None,
        42,
        ["crn"],
    ],
)
def test_malformed_crns_are_rejected(text):
    """Malformed CRNs, including CR/LF in the instance id and non-strings, raise InvalidTarget."""
    with pytest.raises(InvalidTarget):
        parse_crn(text)


def test_kms_instance_needs_uuid_guid():
    """A KMS instance CRN whose instance id is not a UUID is rejected."""
    with pytest.raises(InvalidTarget):
        require_kms_instance(parse_crn(f"crn:v1:bluemix:public:kms:us-south:a/{ACCOUNT}:not-a-uuid::"))


@given(st.text(max_size=200))
def test_parse_crn_never_crashes(text):
    """Any string either parses into a CRN that prints back identically, or raises InvalidTarget."""
    try:
        crn = parse_crn(text)
    except InvalidTarget:
        return
    assert str(crn) == text
