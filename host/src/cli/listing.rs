//! What a CLI listing shows: `--filter` expressions, then `--offset` and `--limit`. Without
//! filters the store pages; with them the store is read 1,000 items at a time, so a filtered
//! listing never holds more than a chunk and the page in memory.

use clap::Args;
use serde_json::Value;

use super::filter::{admits_all, Filter};
use crate::broker::BrokerError;

/// How many items are read at a time when filtering.
const CHUNK: u32 = 1000;

/// `--filter`, `--limit` and `--offset`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only items passing EXPR: KEY=VALUE, KEY!=VALUE, KEY~TEXT (holds it), KEY=~REGEX or
    /// KEY!~REGEX, KEY a field of the listed items (either dialect); repeat to AND them.
    #[arg(long, value_name = "EXPR")]
    filter: Vec<Filter>,
    /// At most this many.
    #[arg(long)]
    limit: Option<u32>,
    /// Skip this many (after filtering) first.
    #[arg(long, default_value_t = 0)]
    offset: u32,
}

/// The fields of the items a listing of `T` shows, from its schema.
pub fn fields_of<T: schemars::JsonSchema>() -> Vec<String> {
    let schema = schemars::schema_for!(T);
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

impl ListArgs {
    /// Refuses a filter whose key names none of `fields`, the fields of the listed items: it
    /// would match nothing, in silence.
    pub fn check(&self, fields: &[String]) -> Result<(), BrokerError> {
        match self.filter.iter().find(|f| !f.names_one_of(fields)) {
            None => Ok(()),
            Some(f) => Err(BrokerError::BadInput(format!(
                "--filter {}: no such field; the fields are {}",
                f.expression(),
                fields.join(", ")
            ))),
        }
    }

    /// The items the listing shows, from `read(limit, offset)`, which reads the items (as
    /// shown) in order.
    pub fn items<E>(
        &self,
        mut read: impl FnMut(Option<u32>, u32) -> Result<Vec<Value>, E>,
    ) -> Result<Vec<Value>, E> {
        if self.filter.is_empty() {
            return read(self.limit, self.offset);
        }
        let (mut skipped, mut shown, mut from) = (0, Vec::new(), 0);
        loop {
            let chunk = read(Some(CHUNK), from)?;
            let read_all = (chunk.len() as u32) < CHUNK;
            for item in chunk.into_iter().filter(|i| admits_all(&self.filter, i)) {
                if skipped < self.offset {
                    skipped += 1;
                } else if self.limit.is_some_and(|l| shown.len() as u32 >= l) {
                    return Ok(shown);
                } else {
                    shown.push(item);
                }
            }
            if read_all {
                return Ok(shown);
            }
            from += CHUNK;
        }
    }

    /// The items of `all` (a whole list already read) the listing shows.
    pub fn of(&self, all: Vec<Value>) -> Vec<Value> {
        all.into_iter()
            .filter(|i| admits_all(&self.filter, i))
            .skip(self.offset as usize)
            .take(self.limit.map_or(usize::MAX, |l| l as usize))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listing(filters: &[&str], limit: Option<u32>, offset: u32) -> ListArgs {
        ListArgs {
            filter: filters.iter().map(|f| f.parse().unwrap()).collect(),
            limit,
            offset,
        }
    }

    /// 2,500 items `{"n": i, "even": bool}`, read as a store pages them.
    fn read(limit: Option<u32>, offset: u32) -> Result<Vec<Value>, ()> {
        let end = limit.map_or(2500, |l| (offset + l).min(2500));
        Ok((offset..end)
            .map(|n| json!({"n": n, "even": n % 2 == 0}))
            .collect())
    }

    #[test]
    fn filters_apply_before_the_page_across_chunks() {
        let shown = listing(&["even=true"], Some(3), 1000).items(read).unwrap();
        let ns: Vec<&Value> = shown.iter().map(|i| &i["n"]).collect();
        assert_eq!(ns, [&json!(2000), &json!(2002), &json!(2004)]);
        let all = listing(&["n=~^24[0-9][0-9]$"], None, 0)
            .items(read)
            .unwrap();
        assert_eq!(all.len(), 100);
        let plain = listing(&[], Some(2), 5).items(read).unwrap();
        assert_eq!(
            plain,
            [
                json!({"n": 5, "even": false}),
                json!({"n": 6, "even": true})
            ]
        );
        let whole = listing(&["even=false"], Some(1), 1).of(read(Some(10), 0).unwrap());
        assert_eq!(whole, [json!({"n": 3, "even": false})]);
    }
}
