//! The pack façade: project in, `.rock` out. (Being written.)

pub mod rootfs;
