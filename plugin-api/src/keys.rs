//! Naming the key a misspelt one was meant to be, for the host and for providers checking
//! their own configuration and template keys.

/// The known key `key` is most likely a slip for, when it is not itself one of `known`: the same
/// letters in another case, or at most two edits away (one for short keys).
pub fn likely_meant<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    if known.contains(&key) {
        return None;
    }
    let folded = key.to_ascii_lowercase().replace(['_', '-'], "");
    known
        .iter()
        .filter_map(|k| {
            let candidate = k.to_ascii_lowercase().replace(['_', '-'], "");
            let distance = if candidate == folded {
                0
            } else {
                edit_distance(&folded, &candidate)
            };
            let allowed = if candidate.len() <= 5 { 1 } else { 2 };
            (distance <= allowed).then_some((distance, *k))
        })
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance of two short ASCII-folded keys; keys are bounded by the callers'
/// inputs (JSON object keys of a configuration or templates file), and a key over 64 bytes is
/// never a slip.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_are_found_and_other_keys_are_not() {
        let known = ["enabled", "tokens", "jwt", "maxNumber", "templateId"];
        assert_eq!(likely_meant("enable", &known), Some("enabled"));
        assert_eq!(likely_meant("maxNumbr", &known), Some("maxNumber"));
        assert_eq!(likely_meant("max_number", &known), Some("maxNumber"));
        assert_eq!(likely_meant("Enabled", &known), Some("enabled"));
        assert_eq!(likely_meant("enabled", &known), None);
        assert_eq!(likely_meant("strategy", &known), None);
        assert_eq!(likely_meant(&"x".repeat(500), &known), None);
    }
}
