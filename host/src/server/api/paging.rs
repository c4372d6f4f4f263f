//! Paging of the API's listings, as the Python ORB pages them: `limit` (50 unless given),
//! `offset` or the opaque `cursor` a previous page gave as `next_cursor`, and the answer's
//! `count`, `total_count` and `next_cursor`.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;

/// The page size when the caller names none.
const DEFAULT_LIMIT: u32 = 50;

/// The largest page a caller can ask for: a page is read and answered whole.
pub const MAX_LIMIT: u32 = 1000;

/// The prefix of a cursor; what follows it is the offset of the page it names.
const CURSOR_PREFIX: &str = "o";

/// Which page of a listing to answer.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// At most this many items (50 unless given; 1 to 1,000).
    limit: Option<u32>,
    /// Skip this many items first.
    offset: Option<u32>,
    /// A previous page's `next_cursor`: the page after it (instead of `offset`).
    cursor: Option<String>,
}

/// A page, checked: how many items at most, after how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// At most this many.
    pub limit: u32,
    /// After skipping this many.
    pub offset: u32,
}

impl PageQuery {
    /// The largest page from the start.
    pub fn everything() -> Self {
        PageQuery {
            limit: Some(MAX_LIMIT),
            ..PageQuery::default()
        }
    }

    /// The page asked for; a limit out of range, or a cursor this server did not give, is
    /// refused (422).
    pub fn page(&self) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(invalid(
                "limit",
                format!("limit must be from 1 to {MAX_LIMIT}"),
            ));
        }
        let offset = match &self.cursor {
            Some(cursor) => cursor
                .strip_prefix(CURSOR_PREFIX)
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    invalid(
                        "cursor",
                        "not a cursor this server gave: pass a page's next_cursor unchanged",
                    )
                })?,
            None => self.offset.unwrap_or(0),
        };
        Ok(Page { limit, offset })
    }
}

/// A 422 naming the query parameter at fault.
fn invalid(parameter: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(
        StatusCode::UNPROCESSABLE_ENTITY,
        &["query", parameter],
        message,
    )
}

/// How a page sits in its listing.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct PageInfo {
    /// How many items this page holds.
    pub count: usize,
    /// How many items the whole listing holds.
    pub total_count: u64,
    /// The cursor of the next page, while there is one.
    pub next_cursor: Option<String>,
}

impl PageInfo {
    /// Where `page`, holding `count` items, sits among `total` items.
    pub fn of(page: Page, count: usize, total: u64) -> Self {
        let next = u64::from(page.offset) + count as u64;
        PageInfo {
            count,
            total_count: total,
            next_cursor: (count > 0 && next < total).then(|| format!("{CURSOR_PREFIX}{next}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<u32>, offset: Option<u32>, cursor: Option<&str>) -> PageQuery {
        PageQuery {
            limit,
            offset,
            cursor: cursor.map(str::to_owned),
        }
    }

    #[test]
    fn a_page_defaults_to_fifty_from_the_start_and_takes_offset_or_cursor() {
        assert_eq!(
            query(None, None, None).page().unwrap(),
            Page {
                limit: 50,
                offset: 0
            }
        );
        assert_eq!(query(Some(5), Some(10), None).page().unwrap().offset, 10);
        let info = PageInfo::of(
            Page {
                limit: 5,
                offset: 10,
            },
            5,
            23,
        );
        let next = info.next_cursor.unwrap();
        assert_eq!(query(Some(5), None, Some(&next)).page().unwrap().offset, 15);
    }

    #[test]
    fn the_last_page_has_no_next_cursor() {
        let page = Page {
            limit: 5,
            offset: 20,
        };
        assert_eq!(PageInfo::of(page, 3, 23).next_cursor, None);
        assert_eq!(PageInfo::of(page, 0, 0).next_cursor, None);
    }

    #[test]
    fn limits_out_of_range_and_foreign_cursors_are_refused() {
        assert!(query(Some(0), None, None).page().is_err());
        assert!(query(Some(MAX_LIMIT + 1), None, None).page().is_err());
        assert!(query(None, None, Some("abc")).page().is_err());
        assert!(query(None, None, Some("o-1")).page().is_err());
    }
}
