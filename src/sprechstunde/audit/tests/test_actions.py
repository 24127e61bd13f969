"""Action codes are shown with readable, translated labels; unknown codes never break the page."""

from django.utils import translation

from sprechstunde.audit.actions import action_label, action_suggestions


def test_known_entities_and_verbs_read_as_words():
    with translation.override("en"):
        assert action_label("client.read") == "Client: viewed"
        assert action_label("consent.withdraw") == "Consent: withdrawn"
        assert action_label("client.access_denied") == "Access to a client refused"
        assert action_label("audit.export") == "Audit trail exported"


def test_unknown_codes_are_tidied_up_instead_of_failing():
    with translation.override("en"):
        assert action_label("video_call.admit_guest") == "Video call: admit guest"
        assert action_label("heartbeat") == "Heartbeat"


def test_suggestions_offer_whole_areas_and_known_actions():
    codes = [code for code, _label in action_suggestions()]
    assert "client" in codes
    assert "client.access_denied" in codes
