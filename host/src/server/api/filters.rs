//! The Python ORB's `filter_expressions` of a listing (the query key repeated, one expression
//! each), selected as every front end selects ([`crate::selection`]).

use super::*;
use crate::selection::{unknown_field, Filter};

/// The filters the query `pairs` give; 422 for one that is no expression or names none of
/// `fields`, the fields of the listed items.
pub(super) fn filters_of(
    pairs: &[(String, String)],
    fields: &[String],
) -> Result<Vec<Filter>, ApiError> {
    let invalid = |message: String| {
        ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["query", "filter_expressions"],
            message,
        )
    };
    let filters = pairs
        .iter()
        .filter(|(key, _)| key == "filter_expressions")
        .map(|(_, expression)| expression.parse::<Filter>().map_err(invalid))
        .collect::<Result<Vec<_>, _>>()?;
    match unknown_field(&filters, fields) {
        None => Ok(filters),
        Some(why) => Err(invalid(why)),
    }
}
