"""Fixed people for governance tests: the submitter, a product owner and the three reviewers."""

import pytest

from tests.factories import TeamFactory


@pytest.fixture
def submitter(make_user):
    """An ops lead who is also a product owner: she submits and owns the use case."""
    user = make_user("Ops lead", username="sara")
    from opsai.roles import role_group

    user.groups.add(role_group("Product owner"))
    return user


@pytest.fixture
def owner_po(make_user):
    user = make_user("Product owner", username="pia")
    TeamFactory(name="Support", product_owner=user)
    return user


@pytest.fixture
def it_reviewer(make_user):
    return make_user("Reviewer", username="ian", specialty="it_platform")


@pytest.fixture
def security_reviewer(make_user):
    return make_user("Reviewer", username="sam", specialty="security")


@pytest.fixture
def legal_reviewer(make_user):
    return make_user("Reviewer", username="lena", specialty="legal")


@pytest.fixture
def reviewers(owner_po, it_reviewer, security_reviewer, legal_reviewer):
    return {
        "product_owner": owner_po,
        "it_platform": it_reviewer,
        "security": security_reviewer,
        "legal": legal_reviewer,
    }
