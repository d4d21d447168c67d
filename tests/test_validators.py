import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Organisation
from accounts.services import system_actor
from accounts.validators import validate_corporate_number
from gxregistry.errors import ErrorCode, RegistryError

# 法人番号 of the National Tax Agency itself: a published, valid number.
VALID = "7000012050002"


def test_valid_corporate_number_passes():
    validate_corporate_number(VALID)
    validate_corporate_number("7-0000-1205-0002")  # as people type it


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("8000012050002", "corporate_number_checksum"),
        ("700001205000", "corporate_number_length"),
        ("70000120500O2", "corporate_number_format"),
    ],
)
def test_bad_corporate_number_names_the_problem(value, code):
    with pytest.raises(ValidationError) as error:
        validate_corporate_number(value)
    assert error.value.code == code


@pytest.mark.django_db
def test_organisation_with_bad_corporate_number_is_not_saved():
    with pytest.raises(RegistryError) as error:
        services.organisation_create(acting_user=system_actor(),
            kind=Organisation.Kind.REGULATED_ENTITY, name="X", corporate_number="8000012050002", sector="steel"
        )
    assert error.value.field == "corporate_number" and "check digit" in str(error.value.message)
    assert not Organisation.objects.filter(name="X").exists()


@pytest.mark.django_db
def test_full_width_corporate_number_is_normalised():
    organisation = services.organisation_create(acting_user=system_actor(),
        kind=Organisation.Kind.REGULATED_ENTITY, name="Y", corporate_number="７０００ー０１２０５０００２".replace("ー", ""),
        sector="steel",
    )
    assert organisation.corporate_number == VALID


@pytest.mark.django_db
def test_duplicate_email_is_refused_case_insensitively():
    services.user_create(acting_user=system_actor(), email="Taro@Example.jp", full_name="Taro", password="a-long-password-123")
    with pytest.raises(RegistryError) as error:
        services.user_create(acting_user=system_actor(), email="taro@example.JP", full_name="Other", password="a-long-password-123")
    assert error.value.field == "email" and error.value.code == ErrorCode.DUPLICATE
