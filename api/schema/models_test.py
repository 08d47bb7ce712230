import pytest
from pydantic import TypeAdapter, ValidationError

from api.schema.models import ApplicationIn, ConfigurationUpdate, UlidText

ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_ulid_text_is_canonical_uppercase():
    assert TypeAdapter(UlidText).validate_python(ID.lower()) == ID


@pytest.mark.parametrize("bad", ["", "x" * 26, ID[:-1], "8" + ID[1:]])
def test_ulid_text_rejects_what_is_not_a_ulid(bad):
    with pytest.raises(ValidationError) as failure:
        TypeAdapter(UlidText).validate_python(bad)

    assert failure.value.errors()[0]["type"] == "ulid_parsing"


def test_requests_reject_unknown_fields():
    with pytest.raises(ValidationError):
        ApplicationIn.model_validate({"name": "x", "id": ID})


def test_configuration_update_application_id_is_optional_and_normalised():
    assert ConfigurationUpdate.model_validate({"name": "x", "config": {}}).application_id is None
    update = ConfigurationUpdate.model_validate({"name": "x", "config": {}, "application_id": ID.lower()})
    assert str(update.application_id) == ID


@pytest.mark.parametrize("not_text", [-1426, 0, 2**127, b"01ARZ3NDEKTSV4RRFFQ69G5FAV"])
def test_body_ids_must_be_text(not_text):
    with pytest.raises(ValidationError) as failure:
        ConfigurationUpdate.model_validate({"name": "x", "config": {}, "application_id": not_text})

    assert failure.value.errors()[0]["type"] == "ulid_parsing"
