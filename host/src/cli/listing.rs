//! What a CLI listing shows: `--filter` expressions, then `--offset` and `--limit`, selected as
//! every front end selects ([`crate::selection`]).

use clap::Args;
use serde_json::Value;

use crate::broker::BrokerError;
use crate::selection::{self, Filter};

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

pub use selection::fields_of;

impl ListArgs {
    /// Refuses a filter whose key names none of `fields`, the fields of the listed items: it
    /// would match nothing, in silence.
    pub fn check(&self, fields: &[String]) -> Result<(), BrokerError> {
        match selection::unknown_field(&self.filter, fields) {
            None => Ok(()),
            Some(why) => Err(BrokerError::BadInput(format!("--{why}"))),
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
        selection::select(&self.filter, self.limit, self.offset, read, Value::clone)
            .map(|(page, _)| page)
    }

    /// The items of `all` (a whole list already read) the listing shows.
    pub fn of(&self, all: Vec<Value>) -> Vec<Value> {
        selection::select_from(&self.filter, self.limit, self.offset, all)
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
