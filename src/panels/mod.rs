//! The lab's panels, one module each.

pub mod datasets;
pub mod dense_am;
pub mod system;
pub mod toy;
