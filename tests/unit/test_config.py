"""Settings: defaults, parsing, and one error naming every bad variable without their values."""

import pytest

from shared.config import Settings
from shared.errors import ConfigError


def test_defaults_with_only_an_api_key():
    """With only IBMCLOUD_API_KEY set, IAM and Resource Controller default to IBM's public endpoints."""
    s = Settings.from_env({"IBMCLOUD_API_KEY": "k-123456"})
    assert s.iam_url == "https://iam.cloud.ibm.com"
    assert s.resource_controller_url == "https://resource-controller.cloud.ibm.com"
    assert s.kms_url is None and s.dry_run is False and s.endpoint_type == "public"
    assert "k-123456" not in repr(s)


def test_every_bad_variable_is_named_at_once():
    """Several bad variables give one ConfigError listing each by name, never echoing a secret."""
    env = {
        "IBMCLOUD_IAM_URL": "http://iam.example.com",
        "KMS_URL": "not a url",
        "DRY_RUN": "maybe",
        "DUALAUTH_ALLOWED_REGIONS": "us-south mars-1",
        "DUALAUTH_HTTP_TIMEOUT": "nan",
        "DUALAUTH_EVENT_TOKEN": "s3cret-token",
    }
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    text = str(err.value)
    for name in (
        "IBMCLOUD_API_KEY",
        "IBMCLOUD_IAM_URL",
        "KMS_URL",
        "DRY_RUN",
        "DUALAUTH_ALLOWED_REGIONS",
        "DUALAUTH_HTTP_TIMEOUT",
    ):
        assert name in text
    assert "entry 2 is not" in text and "mars-1" not in text and "s3cret-token" not in text


def test_problems_never_quote_the_value():
    """A secret pasted into the wrong variable is not repeated: numbers, regions and URLs are named, not quoted."""
    env = {
        "IBMCLOUD_API_KEY": "k",
        "DUALAUTH_RETRY_MAX": "SECRET-1",
        "DUALAUTH_HTTP_TIMEOUT": "SECRET-2",
        "DUALAUTH_ALLOWED_REGIONS": "us-south SECRET-3",
        "DUALAUTH_HPCS_BROKER_URL": "SECRET-4",
        "DUALAUTH_ENDPOINT_TYPE": "SECRET-5",
    }
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    assert len(err.value.problems) == 5 and "SECRET" not in str(err.value)
    assert "DUALAUTH_RETRY_MAX: must be a whole number from 0 to 10" in err.value.problems


@pytest.mark.parametrize("name", ["IBMCLOUD_IAM_URL", "IBMCLOUD_RESOURCE_CONTROLLER_URL", "KMS_URL"])
@pytest.mark.parametrize("userinfo", ["user:SECRET@", "apikey:SECRET@", "SECRET@"])
def test_urls_with_credentials_are_refused(name, userinfo):
    """A URL carrying a user name or password is refused (it would be logged at startup), without quoting it."""
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"IBMCLOUD_API_KEY": "k", name: f"https://{userinfo}kms.example.com"})
    assert err.value.problems == [f"{name}: must not carry a user name or password"]


def test_loopback_http_allowed_for_the_emulator():
    """Plain http is accepted for loopback hosts (the emulator), with trailing slashes trimmed."""
    s = Settings.from_env(
        {
            "IBMCLOUD_API_KEY": "k",
            "KMS_URL": "http://127.0.0.1:9000/",
            "DRY_RUN": "yes",
        }
    )
    assert s.kms_url == "http://127.0.0.1:9000" and s.dry_run is True


def test_exemptions_are_normalised_to_lower_case_guids():
    """Exemptions given as GUIDs (any case) or instance CRNs become lower-case GUIDs; anything else is refused."""
    guid = "6F1D2C3B-4A59-4E68-9D7C-0B1A2F3E4D5C"
    crn = "crn:v1:bluemix:public:kms:us-south:a/abc:2b7c9d4e-1f3a-4b5c-8d6e-7f8091a2b3c4::"
    s = Settings.from_env({"IBMCLOUD_API_KEY": "k", "DUALAUTH_EXEMPT_INSTANCES": f"{guid}, {crn}"})
    assert s.exempt_instances == frozenset({guid.lower(), "2b7c9d4e-1f3a-4b5c-8d6e-7f8091a2b3c4"})
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"IBMCLOUD_API_KEY": "k", "DUALAUTH_EXEMPT_INSTANCES": "my-instance crn:v1:bad"})
    assert "DUALAUTH_EXEMPT_INSTANCES" in str(err.value) and "my-instance" not in str(err.value)
    with pytest.raises(ConfigError):
        Settings.from_env({"IBMCLOUD_API_KEY": "k", "DUALAUTH_EXEMPT_INSTANCES": crn.replace("::", ":key:k1")})


def test_trusted_profile_instead_of_api_key():
    """A trusted profile id stands in for the API key."""
    assert Settings.from_env({"IBMCLOUD_TRUSTED_PROFILE_ID": "Profile-1"}).api_key is None


@pytest.mark.parametrize("token", ["tökén-sécret", "two words", "tab\there"])
def test_event_token_must_be_visible_ascii(token):
    """A shared secret a header could never carry byte for byte (non-ASCII, spaces) is refused at startup."""
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"IBMCLOUD_API_KEY": "k", "DUALAUTH_EVENT_TOKEN": token})
    assert err.value.problems == ["DUALAUTH_EVENT_TOKEN: must be visible ASCII characters without spaces"]
    assert Settings.from_env({"IBMCLOUD_API_KEY": "k", "DUALAUTH_EVENT_TOKEN": " t0k~!/+= "}).event_token == "t0k~!/+="


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:abc",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:0",
        "https://exa mple.com",
        "https://SECRET\uff03x.com",
        "https://xn--a.example.com:443\u200d",
        "https://a..example.com",
        "https://" + "a" * 64 + ".example.com",
        "https://-a.example.com",
    ],
)
def test_urls_that_could_never_be_called_are_refused_at_startup(url):
    """A URL with a bad port or host fails at startup, without quoting it, instead of failing every request."""
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"IBMCLOUD_API_KEY": "k", "KMS_URL": url})
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith("KMS_URL: must")
    assert "SECRET" not in str(err.value) and "abc" not in str(err.value)


def test_an_empty_region_list_is_refused():
    """DUALAUTH_ALLOWED_REGIONS set to only separators would refuse every event: it is a startup error instead."""
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"IBMCLOUD_API_KEY": "k", "DUALAUTH_ALLOWED_REGIONS": " , "})
    assert err.value.problems == [
        "DUALAUTH_ALLOWED_REGIONS: must name at least one region (leave it unset to allow all)"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DUALAUTH_MAX_BODY_BYTES", "262_144"),
        ("DUALAUTH_RETRY_MAX", "\u0663"),
        ("DUALAUTH_RETRY_BUDGET_SECONDS", "inf"),
        ("DUALAUTH_HTTP_TIMEOUT", "1e1"),
        ("DUALAUTH_BODY_READ_SECONDS", " 5 5"),
    ],
)
def test_numbers_are_plain_ascii_decimals(name, value):
    """Underscores, other scripts' digits, inf and exponents are refused, though Python's int()/float() take them."""
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"IBMCLOUD_API_KEY": "k", name: value})
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith(f"{name}: must be a")


def test_api_key_and_trusted_profile_together_are_refused():
    """Both credentials set would leave one silently unused: a startup error instead."""
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"IBMCLOUD_API_KEY": "k", "IBMCLOUD_TRUSTED_PROFILE_ID": "Profile-1"})
    assert [p.split(":")[0] for p in err.value.problems] == ["IBMCLOUD_TRUSTED_PROFILE_ID"]


@pytest.mark.parametrize("name", ["IBMCLOUD_API_KEY", "IBMCLOUD_TRUSTED_PROFILE_ID"])
def test_credentials_with_spaces_are_refused_unquoted(name):
    """An API key or profile id with spaces or non-ASCII cannot be one IAM issued: refused without quoting it."""
    with pytest.raises(ConfigError) as err:
        Settings.from_env({name: "my SECRET key"})
    assert f"{name}: must be visible ASCII characters without spaces" in err.value.problems
    assert "SECRET" not in str(err.value)


@pytest.mark.parametrize("header", ["Content-Type", "content-length", "Host", "ce-id"])
def test_event_token_header_cannot_be_a_message_header(header):
    """The shared secret cannot travel in a header that frames or describes the event."""
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"IBMCLOUD_API_KEY": "k", "DUALAUTH_EVENT_TOKEN_HEADER": header})
    assert err.value.problems[0].startswith("DUALAUTH_EVENT_TOKEN_HEADER: must be a header of its own")
