//! The interface version and the rule for which libraries a host serves.
//!
//! The interface version is this crate's version, and only this crate's: orb's releases have
//! their own numbers. It changes by these rules (see CHANGELOG.md):
//! - patch: documentation, fixes inside the SDK, nothing a library or host can observe;
//! - minor: an operation added to [`crate::operations`], an optional field added to a type
//!   of [`crate::types`], a new [`crate::ErrorKind`]. Older libraries keep loading: the host
//!   learns what a library offers when it builds a provider, and uses the operation's
//!   fallback, or answers "not supported", for what it lacks;
//! - major: anything else, such as a renamed or removed field or operation, a changed type,
//!   or a change to the frozen core of [`crate::ffi`]. Libraries of another major version
//!   are refused before any of their code runs, with a message naming both versions.

/// The interface version, recorded in every plugin library at build time.
pub const INTERFACE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A library the host does not serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The library's interface version is not `major.minor[.patch]`.
    #[error("its interface version '{0}' is not a version number; rebuild it against orb-plugin-api {INTERFACE_VERSION}")]
    Unreadable(String),
    /// The library speaks another major version.
    #[error("built against orb-plugin-api {library}, but this host speaks orb-plugin-api {host}: major versions differ; rebuild the plugin against orb-plugin-api {host}")]
    Incompatible {
        /// The library's interface version.
        library: String,
        /// The host's interface version.
        host: &'static str,
    },
}

/// `major.minor.patch` of a version string (pre-release and build suffixes ignored).
pub fn parse(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text
        .split('.')
        .map(|p| p.split(['-', '+']).next()?.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// Whether a host of this interface version serves a library built against `library`: the
/// major numbers must be equal; the minor number is free in both directions.
pub fn check(library: &str) -> Result<(), VersionError> {
    let host = parse(INTERFACE_VERSION).expect("the crate version is a version");
    let lib = parse(library).ok_or_else(|| VersionError::Unreadable(library.to_owned()))?;
    if lib.0 == host.0 {
        Ok(())
    } else {
        Err(VersionError::Incompatible {
            library: library.to_owned(),
            host: INTERFACE_VERSION,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compatibility_rule() {
        let (major, minor, _) = parse(INTERFACE_VERSION).unwrap();
        assert!(check(&format!("{major}.0.0")).is_ok(), "older minor");
        assert!(
            check(&format!("{major}.{}.3", minor + 1)).is_ok(),
            "newer minor"
        );
        let other = format!("{}.0.0", major + 1);
        let err = check(&other).unwrap_err().to_string();
        assert!(
            err.contains(&other) && err.contains(INTERFACE_VERSION),
            "{err}"
        );
        assert!(matches!(check("x.y"), Err(VersionError::Unreadable(_))));
        assert_eq!(parse("1.2.3-beta.1"), Some((1, 2, 3)));
    }
}
