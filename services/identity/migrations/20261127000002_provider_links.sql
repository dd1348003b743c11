-- Viewers of the operator's IPTV platform signed in with its tokens
-- (ExchangeProviderToken): one Hearth account per provider user, created on
-- first sign-in. The provider's id is opaque (1–256 characters).
CREATE TABLE identity.provider_links (
    provider_user_id text PRIMARY KEY CHECK (length(provider_user_id) BETWEEN 1 AND 256),
    user_id          uuid NOT NULL UNIQUE REFERENCES identity.users (id) ON DELETE CASCADE,
    linked_at        timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at  timestamptz NOT NULL DEFAULT now()
);
