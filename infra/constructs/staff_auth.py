"""Staff sign-in for the admin API in AWS: a Cognito user pool (no self sign-up, MFA,
strong passwords) whose hosted UI the dashboard uses with the authorization code flow
and PKCE. Admin routes accept its ID tokens through a Cognito authorizer. Locally the
gateway checks the key `persona up` prints instead."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from constructs import Construct

DASHBOARD_PAGE = "dashboard.html"


def user_pool(scope: Construct) -> cognito.UserPool:
    return cognito.UserPool(
        scope,
        "staff",
        user_pool_name="persona-staff",
        self_sign_up_enabled=False,  # staff are invited: `aws cognito-idp admin-create-user`
        sign_in_aliases=cognito.SignInAliases(email=True),
        mfa=cognito.Mfa.REQUIRED,
        mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
        password_policy=cognito.PasswordPolicy(min_length=14, require_lowercase=True, require_uppercase=True,
                                               require_digits=True, require_symbols=True,
                                               temp_password_validity=Duration.days(3)),
        account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
        feature_plan=cognito.FeaturePlan.PLUS,
        standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
        removal_policy=RemovalPolicy.RETAIN,  # the staff directory outlives a stack replacement
    )


def authorizer(scope: Construct, pool: cognito.IUserPool) -> apigw.CognitoUserPoolsAuthorizer:
    return apigw.CognitoUserPoolsAuthorizer(scope, "staff-authorizer", cognito_user_pools=[pool])


def dashboard_client(scope: Construct, pool: cognito.UserPool, site_url: str) -> tuple[cognito.UserPoolClient, cognito.UserPoolDomain]:
    """The dashboard's app client (public: PKCE, no secret) and the hosted UI's domain."""
    page = f"{site_url}/{DASHBOARD_PAGE}"
    client = pool.add_client(
        "dashboard",
        generate_secret=False,
        auth_flows=cognito.AuthFlow(user_srp=True),
        o_auth=cognito.OAuthSettings(
            flows=cognito.OAuthFlows(authorization_code_grant=True),
            scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
            callback_urls=[page],
            logout_urls=[page],
        ),
        id_token_validity=Duration.hours(1),
        access_token_validity=Duration.hours(1),
        refresh_token_validity=Duration.days(1),
        prevent_user_existence_errors=True,
        supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
    )
    domain = pool.add_domain("staff-domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=f"persona-staff-{Aws.ACCOUNT_ID}"))
    return client, domain
