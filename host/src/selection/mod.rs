//! Which items a listing shows, for every front end: the Python ORB's filter expressions over
//! the listed items' fields (the CLI's `--filter`, the API's `filter_expressions`), then a
//! page. Without filters the store pages; with them it is read 1,000 items at a time, so a
//! filtered listing holds no more than a chunk and the page in memory.

mod filter;

pub use filter::Filter;

use serde_json::Value;

/// How many items are read at a time when filtering.
const CHUNK: u32 = 1000;

/// The fields of the items a listing of `T` shows, from its schema.
pub fn fields_of<T: schemars::JsonSchema>() -> Vec<String> {
    let schema = schemars::schema_for!(T);
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Why `filters` cannot select among items with `fields`: one names no field of theirs, and
/// would match nothing in silence.
pub fn unknown_field(filters: &[Filter], fields: &[String]) -> Option<String> {
    filters.iter().find(|f| !f.names_one_of(fields)).map(|f| {
        format!(
            "filter {}: no such field; the fields are {}",
            f.expression(),
            fields.join(", ")
        )
    })
}

/// Whether `item` (as shown) passes every one of `filters`.
pub fn admits(filters: &[Filter], item: &Value) -> bool {
    filters.iter().all(|f| f.admits(item))
}

/// The items passing every filter, `offset` of them skipped, at most `limit`, from
/// `read(limit, offset)` (the store's items in order) shown as `shown` shows them; and how
/// many pass in all.
pub fn select<T, E>(
    filters: &[Filter],
    limit: Option<u32>,
    offset: u32,
    mut read: impl FnMut(Option<u32>, u32) -> Result<Vec<T>, E>,
    shown: impl Fn(&T) -> Value,
) -> Result<(Vec<T>, u64), E> {
    let (mut matched, mut page, mut from) = (0u64, Vec::new(), 0u32);
    loop {
        let chunk = read(Some(CHUNK), from)?;
        let read_all = (chunk.len() as u32) < CHUNK;
        for item in chunk {
            if !admits(filters, &shown(&item)) {
                continue;
            }
            if matched >= u64::from(offset) && limit.is_none_or(|l| page.len() < l as usize) {
                page.push(item);
            }
            matched += 1;
        }
        if read_all {
            return Ok((page, matched));
        }
        from += CHUNK;
    }
}

/// A page of a listing and how many items it holds in all: the store's own page and count
/// without filters, else [`select`].
pub fn page<T, E>(
    filters: &[Filter],
    limit: u32,
    offset: u32,
    mut read: impl FnMut(Option<u32>, u32) -> Result<Vec<T>, E>,
    count: impl FnOnce() -> Result<u64, E>,
    shown: impl Fn(&T) -> Value,
) -> Result<(Vec<T>, u64), E> {
    match filters.is_empty() {
        true => Ok((read(Some(limit), offset)?, count()?)),
        false => select(filters, Some(limit), offset, read, shown),
    }
}

/// The items of `all` (a whole list already read) passing every filter, paged.
pub fn select_from(
    filters: &[Filter],
    limit: Option<u32>,
    offset: u32,
    all: Vec<Value>,
) -> Vec<Value> {
    all.into_iter()
        .filter(|i| admits(filters, i))
        .skip(offset as usize)
        .take(limit.map_or(usize::MAX, |l| l as usize))
        .collect()
}
