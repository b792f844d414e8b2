import pytest

from ocopkit.errors import Invalid
from shop.gs1 import check_batch, check_digit, digital_link_path, link_type_uri, normalise_gtin

# Examples published by GS1 and on retail packaging.
VALID = {
    "96385074": "00000096385074",          # GTIN-8 (GS1 check digit calculator example)
    "036000291452": "00036000291452",      # GTIN-12 / UPC-A
    "4006381333931": "04006381333931",     # GTIN-13 / EAN-13
    "09506000134352": "09506000134352",    # GTIN-14 of GS1 Digital Link examples
    "10614141000415": "10614141000415",
}


@pytest.mark.parametrize("text, gtin14", VALID.items())
def test_valid_gtins_are_padded_to_14_digits(text, gtin14):
    assert normalise_gtin(text) == gtin14
    assert check_digit(text[:-1]) == int(text[-1])


@pytest.mark.parametrize("text", ["4006381333932", "036000291453", "96385075", "123",
                                  "40063813339311", "400638133393a", "４００６３８１３３３９３１", ""])
def test_bad_gtins_are_refused(text):
    with pytest.raises(Invalid) as error:
        normalise_gtin(text)
    assert error.value.field == "gtin"


def test_digital_link_path():
    assert digital_link_path("09506000134352", "ABC123") == "/01/09506000134352/10/ABC123"
    assert digital_link_path("09506000134352") == "/01/09506000134352"
    assert digital_link_path("09506000134352", "A/B 1") == "/01/09506000134352/10/A%2FB%201"


@pytest.mark.parametrize("text", ["ABC123", "a-b.c/1", "!\"%&'()*+,-./:;<=>?_", "A" * 20])
def test_batch_numbers_of_gs1_character_set_82_pass(text):
    assert check_batch(text) == text


@pytest.mark.parametrize("text", ["", "A" * 21, "Lô1", "L 1", "L#1", None])
def test_other_batch_numbers_are_refused(text):
    with pytest.raises(Invalid) as error:
        check_batch(text)
    assert error.value.field == "lot_code"


def test_link_types_in_curie_or_uri_form():
    assert link_type_uri("gs1:pip") == "https://gs1.org/voc/pip"
    assert link_type_uri("https://gs1.org/voc/recallStatus") == "https://gs1.org/voc/recallStatus"
