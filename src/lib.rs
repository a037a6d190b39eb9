//! rcraft turns a web app into an OCI image ("rock") from a `rockcraft.yaml`, the way Canonical's
//! Rockcraft does, but without LXD, a VM or a daemon, and with reproducible digests.
//!
//! Data flows through the modules in this order:
//!
//! ```text
//! rockcraft.yaml --project::load--> Project          (yaml tree, profiles::expand, schema)
//!   --lifecycle::run--> prime dir + files primed per part  (pull/build/stage/prime, nil + dump)
//!   --pack--> one layer per part + user/pebble/metadata layers
//!   --oci::{layer,image,archive}--> NAME_VERSION_PLATFORM.rock  (OCI archive, written atomically)
//!   --push--> registry
//! ```
//!
//! For a non-bare base, [`pull`] first fetches the base image into the shared blob cache
//! ([`base`]); its layers come first in the rock and the parts' files are pruned against it.
//!
//! * [`project`]: the project file, its schema and Rockcraft's error messages.
//! * [`profiles`]: framework extensions (`flask-framework`, ...) as data, merged into the project.
//! * [`init`]: `rcraft init` templates.
//! * [`lifecycle`]: parts, their steps, filters and override scripts.
//! * [`oci`]: deterministic layers, image config/manifest, and the `.rock` archive.
//! * [`pack`]: the façade that runs the whole pipeline.
//! * [`debs`]: `stage-packages`: resolving, verifying and unpacking Debian/Ubuntu packages.
//! * [`base`]: base images: the blob cache, unpacking with whiteouts, pruning against the base.
//! * [`registry`]: references, auth and the distribution-spec client.
//! * [`pull`] and [`push`]: base images into the cache, and `.rock` files to a registry.
//! * [`push`]: the `rcraft push` façade: a `.rock` to a registry.
//! * [`cli`]: argument parsing and the commands (args -> settings -> library call), and the
//!   printer that draws what library code reports through [`progress`].
//! * [`worker`]: the worker-server, rcraft's Pebble-compatible PID 1 (a second binary).

pub mod base;
pub mod cli;
pub mod debs;
pub mod error;
pub mod fsops;
pub mod init;
pub mod lifecycle;
pub mod oci;
pub mod pack;
pub mod profiles;
pub mod progress;
pub mod project;
pub mod pull;
pub mod push;
pub mod registry;
pub mod worker;
pub mod yaml;
