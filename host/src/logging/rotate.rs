//! A log file that rotates by size, shared by the many `orb` processes Host Factory starts:
//! `orb.log` grows to `max_size` bytes, then becomes `orb.log.1` (`.1` becomes `.2`, and so on;
//! the oldest beyond `backups` goes). Every write takes an exclusive lock on `orb.log.lock`, so
//! the size check, a rotation and the write are one step across processes: a process whose
//! file another rotated follows the name to the new one first.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

/// A log file that rotates when a write would take it past its size.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_size: u64,
    backups: u32,
    file: File,
    /// `orb.log.lock`, held around each write when the file rotates.
    lock: Option<File>,
}

impl RotatingFile {
    /// Opens `path` for appending; it rotates past `max_size` bytes (0: never), keeping
    /// `backups` older files.
    pub fn open(path: &Path, max_size: u64, backups: u32) -> io::Result<Self> {
        let lock = match max_size {
            0 => None,
            _ => {
                let mut name = path.to_owned().into_os_string();
                name.push(".lock");
                Some(
                    OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(PathBuf::from(name))?,
                )
            }
        };
        Ok(RotatingFile {
            path: path.to_owned(),
            max_size,
            backups,
            file: append(path)?,
            lock,
        })
    }

    /// The name of the `n`th older file (`orb.log.n`).
    fn backup(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        name.into()
    }

    /// Under the lock, makes room for `incoming` bytes: follows the name to the file another
    /// process rotated to, then rotates when this one is full.
    fn make_room(&mut self, incoming: usize) -> io::Result<()> {
        let ours = self.file.metadata()?;
        let moved = match std::fs::metadata(&self.path) {
            Ok(now) => now.ino() != ours.ino() || now.dev() != ours.dev(),
            Err(_) => true,
        };
        if moved {
            self.file = append(&self.path)?;
        }
        let size = self.file.metadata()?.len();
        if size == 0 || size + incoming as u64 <= self.max_size {
            return Ok(());
        }
        if self.backups == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.backups).rev() {
                match std::fs::rename(self.backup(n), self.backup(n + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, self.backup(1))?;
        }
        self.file = append(&self.path)?;
        Ok(())
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(lock) = self.lock.take() else {
            return self.file.write(buf);
        };
        // A log line is never lost to a lock or a rotation that failed: it goes to the file
        // at hand.
        let locked = flock(&lock, FlockOperation::LockExclusive).is_ok();
        if locked {
            let _ = self.make_room(buf.len());
        }
        let written = self.file.write(buf);
        if locked {
            let _ = flock(&lock, FlockOperation::Unlock);
        }
        self.lock = Some(lock);
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_rotates_past_its_size_keeping_its_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orb.log");
        let mut log = RotatingFile::open(&path, 100, 2).unwrap();
        for i in 0..20 {
            writeln!(log, "line {i:02} {}", "x".repeat(30)).unwrap();
        }
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        for p in [path.clone(), log.backup(1), log.backup(2)] {
            assert!(
                size(&p) > 0 && size(&p) <= 100,
                "{}: {}",
                p.display(),
                size(&p)
            );
        }
        assert!(!log.backup(3).exists());
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.contains("line 19"), "{newest}");
        assert!(std::fs::read_to_string(log.backup(1))
            .unwrap()
            .contains("line 17"));
    }

    #[test]
    fn a_process_follows_the_name_another_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orb.log");
        let mut first = RotatingFile::open(&path, 100, 1).unwrap();
        let mut second = RotatingFile::open(&path, 100, 1).unwrap();
        writeln!(first, "{}", "a".repeat(90)).unwrap();
        writeln!(first, "{}", "b".repeat(20)).unwrap(); // rotates
        writeln!(second, "{}", "c".repeat(20)).unwrap(); // follows, does not rotate again
        let newest = std::fs::read_to_string(&path).unwrap();
        assert_eq!(newest, format!("{}\n{}\n", "b".repeat(20), "c".repeat(20)));
        assert!(std::fs::read_to_string(first.backup(1))
            .unwrap()
            .starts_with("aaa"));
    }

    #[test]
    fn no_size_means_no_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orb.log");
        let mut log = RotatingFile::open(&path, 0, 3).unwrap();
        for _ in 0..10 {
            writeln!(log, "{}", "z".repeat(50)).unwrap();
        }
        assert!(!log.backup(1).exists());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 510);
    }
}
