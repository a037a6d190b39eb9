//! Talking to OCI registries (the distribution spec): image [`Reference`]s, credentials, and a
//! blocking [`Client`] that `rcraft push` (and pulling base images) build on.
//!
//! ```text
//! Reference::parse ──> Client::new(ClientOptions) ──> blob_exists / mount_blob /
//!                          │                           upload_blob_from_file[_at] / put_manifest
//!                          │                           get_manifest / get_blob_to
//!                          └─ auth::lookup (flags > credHelpers > credsStore > auths,
//!                             docker config, $REGISTRY_AUTH_FILE, podman auth.json)
//! ```
//!
//! * `reference.rs`: parsing and Docker Hub normalisation.
//! * `auth.rs`: credentials files and helpers.
//! * `token.rs`: `WWW-Authenticate` challenges, scopes, the bearer token cache.
//! * `client.rs`: HTTP, retries with backoff; `handshake.rs`: credentials, challenges, tokens.
//! * `blobs.rs`, `manifest.rs`: the endpoints.
//! * `error.rs`: [`RegistryError`].

mod auth;
mod blobs;
mod client;
mod error;
mod handshake;
mod manifest;
mod reference;
mod token;

pub use auth::{CredentialEnv, Credentials, lookup as lookup_credentials};
pub use client::{Client, ClientOptions, Logger, RetryPolicy};
pub use error::{Action, RegistryError};
pub use manifest::{
    MANIFEST_MEDIA_TYPES, MEDIA_TYPE_DOCKER_LIST, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST, Manifest,
};
pub use reference::{DEFAULT_TAG, DOCKER_HUB, DOCKER_HUB_API, DOCKER_HUB_AUTH_KEY, Reference};
