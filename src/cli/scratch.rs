//! Scratch files the command line makes (the copy of standard input, the output being
//! written by `-o`) and their removal when the run is interrupted.
//!
//! A scratch file is made by the `tempfile` crate: a name nobody can guess, created only if
//! it does not exist (a planted symbolic link is never followed), readable by the owner alone
//! until it becomes the output. Each one is listed here while it exists, and the handler of
//! SIGINT, SIGTERM and SIGHUP removes the listed files before the process exits. SIGKILL
//! cannot be caught: an output's scratch file carries the process id in its name, and the
//! next run writing the same output removes those whose process has gone.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The scratch files that exist now.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The exit code after an interrupting signal: 128 + SIGINT, as shells report Ctrl-C.
const INTERRUPTED: i32 = 130;

/// Installs the handler that removes scratch files on SIGINT, SIGTERM and SIGHUP. Called
/// once, first thing in `main`; a failure to install it leaves the default behaviour.
pub fn install_cleanup() {
    let _ = ctrlc::set_handler(|| {
        remove_all();
        std::process::exit(INTERRUPTED);
    });
}

fn remove_all() {
    // A poisoned list still holds the paths; removing them is all that is left to do.
    let pending = match PENDING.lock() {
        Ok(p) => p,
        Err(p) => p.into_inner(),
    };
    for p in pending.iter() {
        let _ = std::fs::remove_file(p);
    }
}

/// Lists a scratch file for removal on interruption.
pub fn track(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.push(path.to_path_buf());
    }
}

/// Takes a scratch file off the list: it was removed, or it became the output.
pub fn untrack(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.retain(|q| q != path);
    }
}

/// The start of the name of an output's scratch file: `.NAME.funnelc-tmp-`, then the process
/// id, a dash and random letters.
pub fn output_prefix(target_name: &str) -> String {
    format!(".{target_name}.funnelc-tmp-")
}

/// Removes the scratch files that runs killed before they could clean up left beside
/// `target`: those whose process no longer exists. Only where `/proc` tells which processes
/// exist (Linux); elsewhere nothing is removed, since a live run's file must never be.
pub fn remove_stale(target: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = output_prefix(&name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        // Older versions named the file with the process id alone.
        let pid = rest.split('-').next().unwrap_or("");
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stale_files_of_dead_processes_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        let prefix = output_prefix("out.json");
        // No process has an id this large (the kernel's maximum is 2^22).
        let dead = dir.path().join(format!("{prefix}99999999-abc"));
        let old_style = dir.path().join(format!("{prefix}99999998"));
        let live = dir
            .path()
            .join(format!("{prefix}{}-xyz", std::process::id()));
        let other = dir.path().join(".other.json.funnelc-tmp-99999999-abc");
        for p in [&dead, &old_style, &live, &other] {
            std::fs::write(p, "partial").unwrap();
        }
        remove_stale(&target);
        assert!(!dead.exists());
        assert!(!old_style.exists());
        assert!(live.exists(), "a running process's file must stay");
        assert!(
            other.exists(),
            "another output's file is not ours to remove"
        );
    }
}
