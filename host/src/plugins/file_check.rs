//! Checks a library as a file before anything maps it: an ELF shared object for this machine
//! whose every segment lies inside the file (a truncated file, once mapped, kills the process
//! with SIGBUS on first touch), not writable by others and owned by root or by the user
//! running orb (as sshd's StrictModes), and matching its pinned SHA-256 when one is set.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use sha2::{Digest, Sha256};

/// What the host requires of a library file (`plugins.allow_insecure`, `plugins.checksums`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilePolicy {
    /// Skips the owner and permission checks.
    pub allow_insecure: bool,
    /// Library file name to lower-case hex SHA-256; when not empty, every library is pinned.
    pub checksums: BTreeMap<String, String>,
}

/// Why a file is not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    /// The file cannot be read.
    #[error("cannot read the file: {0}")]
    Unreadable(String),
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The file is not a 64-bit little-endian ELF file.
    #[error("not an ELF shared library (bad header)")]
    NotElf,
    /// The ELF file is not a shared object.
    #[error("an ELF file but not a shared library (type {0})")]
    NotShared(u16),
    /// The library is built for another machine.
    #[error("built for another machine (ELF machine {found}, this host is {expected})")]
    WrongMachine {
        /// The file's `e_machine`.
        found: u16,
        /// This host's.
        expected: u16,
    },
    /// Part of the library lies past the end of the file.
    #[error("truncated: the file has {size} bytes but its {part} reach byte {end}; copy the library again")]
    Truncated {
        /// What lies outside: a segment, the program or section headers.
        part: &'static str,
        /// Where it ends.
        end: u64,
        /// The file's size.
        size: u64,
    },
    /// Others may write the file or its directory.
    #[error("{what} is writable by group or others (mode {mode:o}); chmod go-w it, or set plugins.allow_insecure")]
    Writable {
        /// `the file` or `its directory`.
        what: &'static str,
        /// The permission bits.
        mode: u32,
    },
    /// The file belongs to someone else.
    #[error("owned by uid {owner}, neither root nor the user running orb (uid {me}); chown it, or set plugins.allow_insecure")]
    Owner {
        /// The file's owner.
        owner: u32,
        /// The user running orb.
        me: u32,
    },
    /// The file is not listed in `plugins.checksums`.
    #[error("not listed in plugins.checksums, which pins every library; add its SHA-256 {actual}")]
    NotPinned {
        /// The file's SHA-256.
        actual: String,
    },
    /// The file's SHA-256 is not the pinned one.
    #[error("its SHA-256 is {actual}, but plugins.checksums pins {expected}")]
    ChecksumMismatch {
        /// The pinned hash.
        expected: String,
        /// The file's.
        actual: String,
    },
}

/// The ELF machine number of this host, when the check knows it.
const MACHINE: Option<u16> = if cfg!(target_arch = "x86_64") {
    Some(62)
} else if cfg!(target_arch = "aarch64") {
    Some(183)
} else {
    None
};

/// Bytes of a 64-bit ELF header.
const HEADER: usize = 64;

/// Checks the library at `path` as a file, reading only its headers unless checksums are
/// pinned. `contents`, when the caller already holds the file's bytes (a snapshot), is checked
/// instead of the file, so what is checked is what is loaded.
pub fn check(path: &Path, contents: Option<&[u8]>, policy: &FilePolicy) -> Result<(), FileProblem> {
    let unreadable = |e: std::io::Error| FileProblem::Unreadable(e.to_string());
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !policy.allow_insecure {
        check_permissions(path, &meta)?;
    }
    match contents {
        Some(bytes) => {
            check_elf(bytes.len() as u64, |at, buf| read_slice(bytes, at, buf))?;
            check_pinned(path, policy, || Ok(bytes.to_vec()))
        }
        None => {
            let file = std::fs::File::open(path).map_err(unreadable)?;
            check_elf(meta.len(), |at, buf| file.read_exact_at(buf, at).is_ok())?;
            check_pinned(path, policy, || std::fs::read(path).map_err(unreadable))
        }
    }
}

fn read_slice(bytes: &[u8], at: u64, buf: &mut [u8]) -> bool {
    let Ok(start) = usize::try_from(at) else {
        return false;
    };
    match bytes.get(start..start.saturating_add(buf.len())) {
        Some(part) => {
            buf.copy_from_slice(part);
            true
        }
        None => false,
    }
}

fn check_permissions(path: &Path, meta: &std::fs::Metadata) -> Result<(), FileProblem> {
    if meta.mode() & 0o022 != 0 {
        return Err(FileProblem::Writable {
            what: "the file",
            mode: meta.mode() & 0o7777,
        });
    }
    let me = current_uid();
    if meta.uid() != 0 && Some(meta.uid()) != me {
        return Err(FileProblem::Owner {
            owner: meta.uid(),
            me: me.unwrap_or(u32::MAX),
        });
    }
    if let Some(dir) = path.parent().and_then(|d| std::fs::metadata(d).ok()) {
        // A sticky directory (like /tmp) lets nobody replace another user's file.
        if dir.mode() & 0o022 != 0 && dir.mode() & 0o1000 == 0 {
            return Err(FileProblem::Writable {
                what: "its directory",
                mode: dir.mode() & 0o7777,
            });
        }
    }
    Ok(())
}

/// The user this process runs as: the owner of its own `/proc` entry.
fn current_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Checks the ELF header, and that the program headers, the section headers and every
/// loadable segment lie within `size` bytes. `read(at, buf)` fills `buf` from offset `at`.
fn check_elf(size: u64, read: impl Fn(u64, &mut [u8]) -> bool) -> Result<(), FileProblem> {
    if size == 0 {
        return Err(FileProblem::Empty);
    }
    let mut header = [0u8; HEADER];
    if !read(0, &mut header) || &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return Err(FileProblem::NotElf);
    }
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
    let u64_at = |b: &[u8], at: usize| {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(v)
    };
    let kind = u16_at(&header, 16);
    if kind != 3 {
        return Err(FileProblem::NotShared(kind));
    }
    let machine = u16_at(&header, 18);
    if let Some(expected) = MACHINE.filter(|m| *m != machine) {
        return Err(FileProblem::WrongMachine {
            found: machine,
            expected,
        });
    }
    let within = |part, start: u64, len: u64| {
        let end = start.saturating_add(len);
        if end > size {
            Err(FileProblem::Truncated { part, end, size })
        } else {
            Ok(())
        }
    };
    let (ph_off, ph_size, ph_count) = (
        u64_at(&header, 32),
        u64::from(u16_at(&header, 54)),
        u64::from(u16_at(&header, 56)),
    );
    let (sh_off, sh_size, sh_count) = (
        u64_at(&header, 40),
        u64::from(u16_at(&header, 58)),
        u64::from(u16_at(&header, 60)),
    );
    within("section headers", sh_off, sh_size * sh_count)?;
    within("program headers", ph_off, ph_size * ph_count)?;
    if ph_size < 56 {
        return Err(FileProblem::NotElf);
    }
    // At most 65,535 entries of at most 65,535 bytes, all inside the file: bounded.
    let mut entry = vec![0u8; 56];
    for n in 0..ph_count {
        if !read(ph_off + n * ph_size, &mut entry) {
            return Err(FileProblem::Truncated {
                part: "program headers",
                end: ph_off + (n + 1) * ph_size,
                size,
            });
        }
        let loadable = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]) == 1;
        if loadable {
            within("segments", u64_at(&entry, 8), u64_at(&entry, 32))?;
        }
    }
    Ok(())
}

fn check_pinned(
    path: &Path,
    policy: &FilePolicy,
    bytes: impl FnOnce() -> Result<Vec<u8>, FileProblem>,
) -> Result<(), FileProblem> {
    if policy.checksums.is_empty() {
        return Ok(());
    }
    let actual = sha256_hex(&bytes()?);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match policy.checksums.get(name) {
        None => Err(FileProblem::NotPinned { actual }),
        Some(expected) if !expected.eq_ignore_ascii_case(&actual) => {
            Err(FileProblem::ChecksumMismatch {
                expected: expected.clone(),
                actual,
            })
        }
        Some(_) => Ok(()),
    }
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The running test binary: an ELF file for this machine (an executable, not a library).
    fn own_binary() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    fn as_library(mut bytes: Vec<u8>) -> Vec<u8> {
        bytes[16..18].copy_from_slice(&3u16.to_le_bytes());
        bytes
    }

    fn elf(bytes: &[u8]) -> Result<(), FileProblem> {
        check_elf(bytes.len() as u64, |at, buf| read_slice(bytes, at, buf))
    }

    #[test]
    fn a_whole_library_passes_and_damaged_ones_are_named() {
        let good = as_library(own_binary());
        assert_eq!(elf(&good), Ok(()));
        assert_eq!(elf(&[]), Err(FileProblem::Empty));
        assert_eq!(elf(b"not an ELF file at all"), Err(FileProblem::NotElf));
        let half = &good[..good.len() / 2];
        assert!(
            matches!(elf(half), Err(FileProblem::Truncated { .. })),
            "{:?}",
            elf(half)
        );
        let mut other = good.clone();
        other[18..20].copy_from_slice(&40u16.to_le_bytes());
        assert!(matches!(
            elf(&other),
            Err(FileProblem::WrongMachine { found: 40, .. })
        ));
        let mut executable = good.clone();
        executable[16..18].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(elf(&executable), Err(FileProblem::NotShared(2)));
    }

    #[test]
    fn permissions_owner_and_checksums() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libx.so");
        std::fs::write(&path, as_library(own_binary())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let open = FilePolicy::default();
        assert_eq!(check(&path, None, &open), Ok(()));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o757)).unwrap();
        assert!(matches!(
            check(&path, None, &open),
            Err(FileProblem::Writable {
                what: "the file",
                ..
            })
        ));
        let insecure = FilePolicy {
            allow_insecure: true,
            ..FilePolicy::default()
        };
        assert_eq!(check(&path, None, &insecure), Ok(()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();

        let actual = sha256_hex(&std::fs::read(&path).unwrap());
        let pinned = |hash: &str| FilePolicy {
            checksums: [("libx.so".to_owned(), hash.to_owned())].into(),
            ..FilePolicy::default()
        };
        assert_eq!(check(&path, None, &pinned(&actual.to_uppercase())), Ok(()));
        assert!(matches!(
            check(&path, None, &pinned(&"0".repeat(64))),
            Err(FileProblem::ChecksumMismatch { .. })
        ));
        let other = FilePolicy {
            checksums: [("liby.so".to_owned(), actual)].into(),
            ..FilePolicy::default()
        };
        assert!(matches!(
            check(&path, None, &other),
            Err(FileProblem::NotPinned { .. })
        ));
    }
}
