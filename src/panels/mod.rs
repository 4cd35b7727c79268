//! The lab's panels, one module each.

pub mod dense_am;
pub mod system;
