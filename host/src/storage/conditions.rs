//! The conditions of a listing, written once for every backend. Only the conditions a filter
//! sets are written, so that the database can use its indexes (a `?1 IS NULL OR column = ?1`
//! condition makes SQLite scan every row). Every value is text; each backend names its
//! placeholders (`?1` for SQLite, `$1` for PostgreSQL).

use super::{MachineFilter, RequestFilter};

/// The columns a request listing's search looks in.
const REQUEST_SEARCHED: &[&str] = &["request_id", "template_id", "message"];

/// The columns a machine listing's search looks in.
const MACHINE_SEARCHED: &[&str] = &["machine_id", "name", "private_ip", "public_ip"];

/// The condition on a machine that it is neither gone nor claimed by a return.
const UNRETURNED: &str =
    "state NOT IN ('terminated', 'failed', 'shutting-down') AND return_request_id IS NULL";

/// A listing's conditions and the values they bind, in order.
pub struct Conditions {
    terms: Vec<String>,
    /// The values, the first bound to placeholder 1.
    pub values: Vec<String>,
    placeholder: fn(usize) -> String,
}

impl Conditions {
    fn new(placeholder: fn(usize) -> String) -> Self {
        Conditions {
            terms: Vec::new(),
            values: Vec::new(),
            placeholder,
        }
    }

    /// Binds `value`; its placeholder.
    fn bind(&mut self, value: String) -> String {
        self.values.push(value);
        (self.placeholder)(self.values.len())
    }

    /// `column = value`, when a value is given.
    fn equal(&mut self, column: &str, value: Option<String>) {
        if let Some(value) = value {
            let p = self.bind(value);
            self.terms.push(format!("{column} = {p}"));
        }
    }

    /// One of `columns` holds `text`, in any case, when a text is given.
    fn contains(&mut self, columns: &[&str], text: Option<&str>) {
        if let Some(text) = text {
            let p = self.bind(like_pattern(text));
            let each: Vec<String> = columns
                .iter()
                .map(|c| format!("LOWER({c}) LIKE {p} ESCAPE '\\'"))
                .collect();
            self.terms.push(format!("({})", each.join(" OR ")));
        }
    }

    /// `WHERE ...`, or nothing.
    pub fn clause(&self) -> String {
        if self.terms.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.terms.join(" AND "))
        }
    }
}

/// The `LIKE` pattern that finds `text` anywhere, in any case, its `%`, `_` and backslash
/// taken as themselves.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The conditions of a request listing.
pub fn of_requests(filter: &RequestFilter, placeholder: fn(usize) -> String) -> Conditions {
    let mut query = Conditions::new(placeholder);
    query.equal("kind", filter.kind.map(|k| k.as_str().to_owned()));
    query.equal("status", filter.status.map(|s| s.as_str().to_owned()));
    query.equal("template_id", filter.template_id.clone());
    query.equal("phase", filter.phase.map(|p| p.as_str().to_owned()));
    query.equal("provider_instance", filter.provider_instance.clone());
    query.equal("provider_type", filter.provider_type.clone());
    query.contains(REQUEST_SEARCHED, filter.search.as_deref());
    if filter.owned {
        query.terms.push("owner IS NOT NULL".into());
    }
    query
}

/// The conditions of a machine listing.
pub fn of_machines(filter: &MachineFilter, placeholder: fn(usize) -> String) -> Conditions {
    let mut query = Conditions::new(placeholder);
    query.equal("request_id", filter.request_id.clone());
    query.equal("state", filter.state.clone());
    query.equal("return_request_id", filter.return_request_id.clone());
    query.equal("provider_instance", filter.provider_instance.clone());
    if let Some(provider_type) = filter.provider_type.clone() {
        let p = query.bind(provider_type);
        query.terms.push(format!(
            "request_id IN (SELECT request_id FROM requests WHERE provider_type = {p})"
        ));
    }
    query.contains(MACHINE_SEARCHED, filter.search.as_deref());
    if filter.unreturned {
        query.terms.push(UNRETURNED.into());
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_conditions_set_are_written_with_each_backends_placeholders() {
        let none = of_requests(&RequestFilter::default(), |n| format!("?{n}"));
        assert_eq!((none.clause(), none.values.len()), (String::new(), 0));
        let filter = MachineFilter {
            state: Some("running".into()),
            provider_type: Some("aws".into()),
            search: Some("10.0_1".into()),
            ..Default::default()
        };
        let query = of_machines(&filter, |n| format!("${n}"));
        assert_eq!(query.values, ["running", "aws", "%10.0\\_1%"]);
        let clause = query.clause();
        assert!(
            clause.starts_with("WHERE state = $1 AND request_id IN"),
            "{clause}"
        );
        assert!(clause.contains("provider_type = $2"), "{clause}");
        assert!(clause.contains("LOWER(name) LIKE $3"), "{clause}");
    }
}
