//! The `oci` module turns files into a reproducible OCI image: [`LayerBuilder`] writes
//! deterministic gzip layer blobs into a [`BlobStore`], [`Image`] adds the config and manifest
//! blobs, and [`archive::write_rock`] packs them into the `.rock` (an OCI archive that podman,
//! skopeo, containerd and classic `docker load` all accept). [`validate::validate`] reads a
//! `.rock` back and checks every digest, the test oracle for the rest.
//!
//! ```text
//! pack --entries--> LayerBuilder::write --Layer--> Image::write --WrittenImage--> write_rock
//!                      \____________ BlobStore (an OCI layout dir) ____________/
//! ```
//!
//! Identical inputs (entries, owners, modes, mtime, config, name) give identical bytes: tar
//! entries are sorted with one mtime and no host ownership, gzip runs at a pinned level on the
//! pinned zlib-rs backend with a fixed header, in fixed-size blocks compressed in parallel
//! (`pgzip.rs`; the bytes do not depend on the number of cores), and JSON has a fixed field
//! order.

pub mod archive;
mod blobs;
mod digest;
mod error;
pub mod image;
mod json;
pub mod layer;
mod pgzip;
mod tarstream;
mod tree;
pub mod validate;

pub use archive::write_rock;
pub use blobs::{BlobRef, BlobStore, BlobWriter};
pub use digest::{Digest, HashingReader, HashingWriter};
pub use error::OciError;
pub use image::{History, Image, ImageConfig, Platform, WrittenImage};
pub use layer::{EntryKind, GZIP_LEVEL, Layer, LayerBuilder, LayerEntry};
pub use tree::Owner;
pub use validate::{BlobPos, RockSummary, validate, validate_structure};
