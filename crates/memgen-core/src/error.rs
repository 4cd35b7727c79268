//! The one error type of the numeric core: every message names the problem in a single line.
use thiserror::Error;

/// Errors of the numeric core. Each names what was wrong, so the CLI can print it as is.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CoreError {
    /// A set that must hold at least one point holds none.
    #[error("{what} is empty")]
    Empty {
        /// Which set.
        what: String,
    },
    /// Two sets whose points must have the same dimension do not.
    #[error("dimension mismatch: {what} has dimension {found}, expected {expected}")]
    DimensionMismatch {
        /// Which set.
        what: String,
        /// The dimension required.
        expected: usize,
        /// The dimension found.
        found: usize,
    },
    /// A NaN or infinite value.
    #[error("{what} contains a non-finite value (NaN or infinity) at row {row}, column {col}")]
    NonFinite {
        /// Which set.
        what: String,
        /// Row of the first bad value.
        row: usize,
        /// Column of the first bad value.
        col: usize,
    },
    /// Fewer points than an algorithm needs.
    #[error("{what} has {found} points, at least {need} are needed")]
    TooFewPoints {
        /// Which set.
        what: String,
        /// Minimum.
        need: usize,
        /// Found.
        found: usize,
    },
    /// A parameter outside its valid range.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: String,
        /// The value given, formatted.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A buffer whose length is not `rows × cols`.
    #[error("buffer of length {len} does not hold {rows} rows of {cols} columns")]
    BadShape {
        /// Buffer length.
        len: usize,
        /// Rows asked for.
        rows: usize,
        /// Columns asked for.
        cols: usize,
    },
}

impl CoreError {
    /// Shorthand for [`CoreError::InvalidParameter`].
    pub fn invalid(name: &str, value: impl std::fmt::Display, reason: &str) -> Self {
        CoreError::InvalidParameter { name: name.to_string(), value: value.to_string(), reason: reason.to_string() }
    }
}
