//! Base images. (Being written.)
