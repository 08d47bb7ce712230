import psycopg2
import pytest
from psycopg2.extras import Json


def test_returns_the_configuration_as_config_get_does(call):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))

    assert call("config_get_by_name", "billing", "production") == call("config_get", configuration["id"])


@pytest.mark.parametrize(
    ("application", "name", "missing"), [("nope", "production", "application"), ("billing", "nope", "configuration")]
)
def test_either_name_missing_is_P0002_saying_which(call, db, application, name, missing):
    app = call("app_create", "billing")
    call("config_create", app["id"], "production", Json({}))

    with pytest.raises(psycopg2.Error) as failure:
        call("config_get_by_name", application, name)

    assert failure.value.pgcode == "P0002"
    assert failure.value.diag.message_primary.startswith(
        "no application" if missing == "application" else "application"
    )
