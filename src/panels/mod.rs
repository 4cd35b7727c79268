//! The lab's panels, one module each.

pub mod datasets;
pub mod dense_am;
pub mod sweep;
pub mod system;
pub mod toy;
