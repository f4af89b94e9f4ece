//! The console log: what init and its children write to stdout/stderr,
//! appended by the supervisor to `console.log` and capped so it never holds
//! much more than [`CONSOLE_KEEP`] bytes (GetConsoleOutput returns the last
//! 64 KiB, as AWS does).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

/// How much of the console is kept and returned.
pub const CONSOLE_KEEP: usize = 64 * 1024;

/// The log is cut back to [`CONSOLE_KEEP`] once it grows past this.
pub const CONSOLE_CUT_AT: u64 = 2 * CONSOLE_KEEP as u64;

/// The last `n` bytes of `data`.
pub fn tail(data: &[u8], n: usize) -> &[u8] {
    &data[data.len().saturating_sub(n)..]
}

/// Copy everything from `pipe` to the log at `path` until EOF (every writer
/// in the instance is gone), keeping the file small.
pub fn pump(mut pipe: File, path: &Path) {
    let mut log = match OpenOptions::new().create(true).append(true).open(path) {
        Ok(f) => f,
        Err(_) => {
            // Nowhere to write: still drain, so writers never block.
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
            return;
        }
    };
    let mut buf = [0u8; 4096];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let _ = log.write_all(&buf[..n]);
        if log.metadata().map(|m| m.len()).unwrap_or(0) > CONSOLE_CUT_AT {
            if let Some(f) = cut(path) {
                log = f;
            }
        }
    }
}

/// Rewrite the log as its last [`CONSOLE_KEEP`] bytes; returns the new
/// append handle.
fn cut(path: &Path) -> Option<File> {
    let data = std::fs::read(path).ok()?;
    let tmp = path.with_extension("log.tmp");
    std::fs::write(&tmp, tail(&data, CONSOLE_KEEP)).ok()?;
    std::fs::rename(&tmp, path).ok()?;
    OpenOptions::new().append(true).open(path).ok()
}

/// The last 64 KiB of the log (empty if there is none yet).
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(data) => Ok(tail(&data, CONSOLE_KEEP).to_vec()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail(b"abcdef", 3), b"def");
        assert_eq!(tail(b"ab", 3), b"ab");
        assert_eq!(tail(b"", 3), b"");
    }

    #[test]
    fn pump_caps_the_log() {
        let dir = std::env::temp_dir().join(format!("nubo-console-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("console.log");
        let src = dir.join("src");
        let mut data = Vec::new();
        for i in 0..40_000u32 {
            data.extend_from_slice(format!("{i:07}\n").as_bytes());
        }
        std::fs::write(&src, &data).unwrap();
        pump(File::open(&src).unwrap(), &log);
        let kept = std::fs::metadata(&log).unwrap().len();
        assert!(kept <= CONSOLE_CUT_AT, "{kept}");
        let out = read(&log).unwrap();
        assert_eq!(out, tail(&data, CONSOLE_KEEP));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
