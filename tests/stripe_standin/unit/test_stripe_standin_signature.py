import json
import time

import pytest
import stripe

from services.stripe_standin.webhooks import signature_header

SECRET = "whsec_unit"
PAYLOAD = json.dumps(
    {
        "id": "evt_1",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_1"}},
    },
    indent=2,
)


def test_the_sdk_verifies_the_signature() -> None:
    header = signature_header(PAYLOAD, SECRET, int(time.time()))

    event = stripe.Webhook.construct_event(PAYLOAD, header, SECRET)

    assert (event.id, event.type) == ("evt_1", "checkout.session.completed")


def test_another_secret_fails_verification() -> None:
    header = signature_header(PAYLOAD, SECRET, int(time.time()))
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(PAYLOAD, header, "whsec_other")


def test_an_old_timestamp_fails_the_sdks_tolerance() -> None:
    header = signature_header(PAYLOAD, SECRET, int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(PAYLOAD, header, SECRET)
