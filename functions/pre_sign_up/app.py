"""Cognito's pre sign-up trigger, deployed only with single sign-on (the template's OIDC
parameters): it runs when a person signs in through the OIDC provider for the first time, before
Cognito creates a user of its own for them (which would have no tenant and no role).

A person an admin invited gets their provider identity linked to their invited user
(billing_core.users.link_invited); this first attempt then ends with a message asking them to sign
in again, and every sign-in through the provider from then on is the invited user, with their
tenant and role. Cognito creates users for nobody else: the trigger refuses with a message the
sign-in page shows. Admin-created users (POST /v1/users) do not run it; the pool allows no
self sign-up."""
import os

from billing_core import users

EXTERNAL = "PreSignUp_ExternalProvider"


def lambda_handler(event: dict, context=None) -> dict:
    if event.get("triggerSource") != EXTERNAL:
        return event  # an admin's invitation: nothing to decide
    provider = os.environ["OIDC_PROVIDER_NAME"]
    user_name = event.get("userName") or ""
    if not user_name.lower().startswith(provider.lower() + "_"):  # Cognito names the new user <provider>_<subject>
        raise users.NotAdmitted("other_provider", f"this sign-in is not through {provider}, the one provider of this deployment")
    attributes = (event.get("request") or {}).get("userAttributes") or {}
    users.link_invited(event["userPoolId"], provider, user_name[len(provider) + 1:], attributes.get("email"),
                       attributes.get("email_verified"))
    raise users.NotAdmitted("linked", f"your {provider} account is now linked to your invitation: sign in again to continue")
