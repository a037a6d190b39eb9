//! Talking to OCI registries. (Being written.)
