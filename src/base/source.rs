//! Which image a `base` means, and where to pull it from.
//!
//! | `base`       | image                                          |
//! |--------------|------------------------------------------------|
//! | `ubuntu@X`   | `public.ecr.aws/ubuntu/ubuntu:X` (as Rockcraft) |
//! | `debian@12`  | `docker.io/library/debian:bookworm` (rcraft)    |
//! | `bare`       | none: an empty root filesystem                  |
//!
//! **Mirror** (`--base-mirror HOST[/PREFIX]`, or `RCRAFT_BASE_MIRROR`): the registry host is
//! replaced and the repository path kept, so a mirror must be seeded under these names:
//!
//! ```text
//! ubuntu@24.04  ->  HOST[/PREFIX]/ubuntu/ubuntu:24.04
//! debian@12     ->  HOST[/PREFIX]/library/debian:bookworm
//! ```
//!
//! for example `skopeo copy --all docker://docker.io/library/debian:bookworm
//! docker://localhost:32000/library/debian:bookworm`.
//!
//! **Pinning**: [`pinned_reference`] appends `@sha256:...` to the reference
//! (`docker.io/library/debian:bookworm@sha256:...`); registries then serve exactly that
//! manifest (or index) and the tag is informative only.

use crate::oci::Digest;
use crate::project::Base;

/// Registry and repository of Ubuntu base images (Rockcraft's source since 2023).
pub const UBUNTU_REPOSITORY: (&str, &str) = ("public.ecr.aws", "ubuntu/ubuntu");
/// Registry and repository of Debian base images.
pub const DEBIAN_REPOSITORY: (&str, &str) = ("docker.io", "library/debian");

/// The image reference (`host/path:tag`) a base means, with the host replaced by `mirror`
/// when given. `None` for `bare` (no image) and `devel` (a build-base only), and for Debian
/// releases rcraft does not know the code name of.
pub fn base_reference(base: &Base, mirror: Option<&str>) -> Option<String> {
    let ((host, path), tag) = match base {
        Base::Bare | Base::Devel => return None,
        Base::Ubuntu(version) => (UBUNTU_REPOSITORY, version.clone()),
        Base::Debian(version) => (DEBIAN_REPOSITORY, debian_codename(version)?.to_string()),
    };
    let host = match mirror.map(|m| m.trim().trim_end_matches('/')) {
        Some(m) if !m.is_empty() => m,
        _ => host,
    };
    Some(format!("{host}/{path}:{tag}"))
}

/// [`base_reference`] pinned to a manifest (or index) digest: `host/path:tag@sha256:<hex>`.
pub fn pinned_reference(base: &Base, mirror: Option<&str>, digest: &Digest) -> Option<String> {
    base_reference(base, mirror).map(|r| format!("{r}@{digest}"))
}

/// The Debian code name used as the image tag for a release number.
pub fn debian_codename(version: &str) -> Option<&'static str> {
    Some(match version {
        "11" => "bullseye",
        "12" => "bookworm",
        "13" => "trixie",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ubuntu(v: &str) -> Base {
        Base::Ubuntu(v.into())
    }

    #[test]
    fn bases_map_to_their_images() {
        assert_eq!(
            base_reference(&ubuntu("24.04"), None).as_deref(),
            Some("public.ecr.aws/ubuntu/ubuntu:24.04")
        );
        assert_eq!(
            base_reference(&Base::Debian("12".into()), None).as_deref(),
            Some("docker.io/library/debian:bookworm")
        );
        assert_eq!(base_reference(&Base::Bare, None), None);
        assert_eq!(base_reference(&Base::Devel, None), None);
        assert_eq!(base_reference(&Base::Debian("99".into()), None), None);
    }

    #[test]
    fn a_mirror_replaces_the_host_and_keeps_the_path() {
        let m = Some("localhost:32000");
        assert_eq!(
            base_reference(&ubuntu("24.04"), m).as_deref(),
            Some("localhost:32000/ubuntu/ubuntu:24.04")
        );
        assert_eq!(
            base_reference(&Base::Debian("12".into()), m).as_deref(),
            Some("localhost:32000/library/debian:bookworm")
        );
        assert_eq!(
            base_reference(&ubuntu("22.04"), Some("mirror.example/proxy/")).as_deref(),
            Some("mirror.example/proxy/ubuntu/ubuntu:22.04")
        );
        // An empty mirror setting means none.
        assert_eq!(
            base_reference(&ubuntu("22.04"), Some("")).as_deref(),
            Some("public.ecr.aws/ubuntu/ubuntu:22.04")
        );
    }

    #[test]
    fn pinned_references_carry_the_digest() {
        let d = Digest::of(b"manifest");
        assert_eq!(
            pinned_reference(&Base::Debian("12".into()), None, &d),
            Some(format!("docker.io/library/debian:bookworm@{d}"))
        );
        assert_eq!(pinned_reference(&Base::Bare, None, &d), None);
    }
}
