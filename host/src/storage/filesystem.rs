//! SQLite on a network file system: refused unless allowed. SQLite's write-ahead log relies on
//! shared memory and POSIX locks that NFS, CIFS and their like do not give processes on
//! different hosts, so two hosts sharing the file can corrupt it. The file system is told by
//! `statfs`'s magic number, of the database's directory or its nearest existing ancestor.

use std::path::Path;

/// Network and cluster file systems, by `statfs` magic number (Linux's `magic.h` and the
/// file systems' own headers).
const NETWORK: &[(u32, &str)] = &[
    (0x6969, "NFS"),
    (0xFF53_4D42, "CIFS"),
    (0xFE53_4D42, "SMB2"),
    (0x517B, "SMB"),
    (0x564C, "NCP"),
    (0x7375_7245, "Coda"),
    (0x5346_414F, "AFS"),
    (0x6B41_4653, "kAFS"),
    (0x0102_1997, "9P"),
    (0x00C3_6400, "CephFS"),
    (0x0BD0_0BD0, "Lustre"),
    (0x4750_4653, "GPFS"),
    (0x0116_1970, "GFS2"),
    (0x7461_636F, "OCFS2"),
];

/// The network file system `path` is on, if it is on one; `None` for local file systems and
/// when the file system cannot be told.
pub fn network_filesystem(path: &Path) -> Option<&'static str> {
    let existing = path
        .ancestors()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .find(|p| p.exists())?;
    let stat = rustix::fs::statfs(existing).ok()?;
    // `f_type` is a signed or unsigned word by architecture; the magic is its low 32 bits.
    #[allow(clippy::unnecessary_cast)]
    named(stat.f_type as u32)
}

/// The network file system with this magic number, if any.
fn named(magic: u32) -> Option<&'static str> {
    NETWORK
        .iter()
        .find(|(known, _)| *known == magic)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_file_systems_are_named_and_local_ones_are_not() {
        assert_eq!(named(0x6969), Some("NFS"));
        assert_eq!(named(0xFF53_4D42), Some("CIFS"));
        assert_eq!(named(0xEF53), None, "ext4");
        assert_eq!(named(0x5846_5342), None, "XFS");
        assert_eq!(named(0x0102_1994), None, "tmpfs");
    }

    #[test]
    fn a_local_directory_and_a_path_not_yet_made_are_local() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(network_filesystem(dir.path()), None);
        assert_eq!(network_filesystem(&dir.path().join("not/yet/orb.db")), None);
        assert_eq!(network_filesystem(Path::new("relative/orb.db")), None);
    }
}
