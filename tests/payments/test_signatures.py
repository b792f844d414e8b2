import pytest

from payments.signatures import SignatureError, sign, verify_signature

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'
NOW = 1_790_000_000


def test_a_correct_signature_is_accepted():
    assert verify_signature(BODY, sign(BODY, SECRET, NOW), SECRET, NOW + 10) == NOW


def test_one_of_several_v1_signatures_may_match():
    header = sign(BODY, "old", NOW) + "," + sign(BODY, SECRET, NOW).split(",")[1]
    assert verify_signature(BODY, header, SECRET, NOW) == NOW


@pytest.mark.parametrize("header, body, now", [
    (None, BODY, NOW),
    ("", BODY, NOW),
    ("t=abc,v1=00", BODY, NOW),
    (sign(BODY, SECRET, NOW).split(",")[0], BODY, NOW),            # no v1
    (sign(BODY, "forged", NOW), BODY, NOW),                         # wrong secret
    (sign(BODY, SECRET, NOW), BODY + b" ", NOW),                    # tampered body
    (sign(BODY, SECRET, NOW).split("v1=")[0] + "v1=", BODY, NOW),   # empty v1
    (sign(BODY, SECRET, NOW)[:-1], BODY, NOW),                      # truncated v1
    (sign(BODY, SECRET, NOW)[:-32], BODY, NOW),
    (sign(BODY, SECRET, NOW).split(",")[1], BODY, NOW),             # no timestamp
    (sign(BODY, SECRET, NOW), BODY, NOW + 301),                     # too old
    (sign(BODY, SECRET, NOW), BODY, NOW - 301),                     # from the future
])
def test_bad_signatures_are_refused(header, body, now):
    with pytest.raises(SignatureError):
        verify_signature(body, header, SECRET, now)


def test_no_secret_configured_refuses_everything():
    with pytest.raises(SignatureError):
        verify_signature(BODY, sign(BODY, "", NOW), "", NOW)


@pytest.mark.parametrize("header, reason", [
    (None, "missing signature"),
    ("t=abc,v1=00", "malformed signature header"),
    (sign(BODY, SECRET, NOW), "timestamp outside the tolerance"),
    (sign(BODY, "forged", NOW - 300), "signature does not match"),
])
def test_a_refusal_says_why_for_the_log(header, reason):
    now = NOW + 301 if reason.startswith("timestamp") else NOW
    with pytest.raises(SignatureError) as refused:
        verify_signature(BODY, header, SECRET, now)
    assert str(refused.value) == reason


def test_the_tolerance_is_inclusive_to_the_second():
    header = sign(BODY, SECRET, NOW)
    assert verify_signature(BODY, header, SECRET, NOW + 300) == NOW
    assert verify_signature(BODY, header, SECRET, NOW - 300) == NOW


def test_an_event_about_an_object_without_id_is_still_an_event():
    from payments.signatures import parse_event

    body = b'{"id":"evt_9","type":"balance.available","data":{"object":{"available":[]}}}'
    assert parse_event(body)["type"] == "balance.available"
