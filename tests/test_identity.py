from datetime import date

from webapp.services import identity


def test_gb11643_checksum():
    assert identity.valid_id("11010519491231002X")
    assert identity.valid_id("11010519491231002x")  # lower-case x is accepted and normalised
    assert not identity.valid_id("110105194912310021")  # wrong check digit
    assert not identity.valid_id("11010519491331002X")  # month 13
    assert not identity.valid_id("1101051949123100")  # too short


def test_make_id_round_trip():
    value = identity.make_id("440105", date(1940, 2, 29), 17)
    assert identity.valid_id(value)
    assert identity.id_birth_date(value) == date(1940, 2, 29)


def test_masks():
    assert identity.mask_id("11010519491231002X") == "110***********002X"
    assert identity.mask_phone("13812345678") == "138****5678"
