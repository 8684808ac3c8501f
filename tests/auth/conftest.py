"""Staff who sign in: the template's user pool in the module's embedded AWS, people of two tenants
with a password each, and a client that calls the API with a person's access token (the staff API,
behind the JWT authorizer) beside the API tokens of tests/conftest.py."""
import secrets

import boto3
import pytest
from conftest import Client, Tenant

from api.conftest import aws, fast_transactions, module_aws  # noqa: F401 (the module's store, a fresh table per test)

from billing_local import cognito


class Person(Client):
    """One user of the pool: signs in with email and password, refreshes, calls the API."""

    def __init__(self, gateway, pool: dict, tenant_id: str, role: str, name: str | None = None):
        self.email = f"{role}-{secrets.token_hex(3)}@{tenant_id.replace('_', '-')}.example"
        self.password = f"Local-{secrets.token_urlsafe(9)}9a"
        self.pool, self.tenant_id, self.role, self.name = pool, tenant_id, role, name
        self.idp = boto3.client("cognito-idp")
        self.user_id = cognito.add_user(self.idp, pool["user_pool_id"], tenant_id, role, self.email, self.password, name)
        super().__init__(gateway, None)
        self.sign_in()

    def sign_in(self) -> dict:
        self.tokens = cognito.sign_in(self.idp, self.pool["client_id"], self.email, self.password)
        self.token = self.tokens["AccessToken"]
        return self.tokens

    def refresh(self) -> dict:
        answer = self.idp.initiate_auth(ClientId=self.pool["client_id"], AuthFlow="REFRESH_TOKEN_AUTH",
                                        AuthParameters={"REFRESH_TOKEN": self.tokens["RefreshToken"]})["AuthenticationResult"]
        self.token = answer["AccessToken"]
        return answer


@pytest.fixture
def pool(aws):
    """The staff user pool, made from template.yaml (its groups, the console's app client)."""
    return cognito.create_pool(boto3.client("cognito-idp"))


@pytest.fixture
def people(pool, msp, gateway):
    """A signed-in person per staff role of `msp` (tests/conftest.py's tenant with its tokens)."""
    return {role: Person(gateway, pool, msp.tenant_id, role, name=f"{role.title()} Person") for role in ("admin", "technician", "finance")}


@pytest.fixture
def rival_people(pool, other_msp, gateway):
    return {role: Person(gateway, pool, other_msp.tenant_id, role) for role in ("admin", "technician", "finance")}


__all__ = ["Person", "Tenant"]
