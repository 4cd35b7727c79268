//! The lab's panels, one module each.

pub mod datasets;
pub mod dense_am;
#[cfg(feature = "engine")]
pub mod sweep;
#[cfg(feature = "engine")]
pub mod system;
#[cfg(feature = "engine")]
pub mod toy;
