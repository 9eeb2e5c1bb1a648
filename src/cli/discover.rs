//! Which rule files a command works on: the files named, every `*.funnel` under the folders
//! named (respecting `.gitignore`, `.ignore` and hidden files, as git and ripgrep do), and `-`
//! for standard input. One function for `check`, `fmt` and `test`, so they agree.

use std::path::{Path, PathBuf};

use super::Exit;

/// A file's path as it is on disk (canonical, where it exists): one file named two ways is one.
pub fn key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// One input of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file named on the command line or found under a folder.
    File(PathBuf),
    /// `-`: standard input.
    Stdin,
}

/// The inputs the paths stand for, in the order given, each folder's files sorted by path. A
/// path that does not exist is a usage error, said here; a folder without rule files is not
/// (an empty project has nothing to check), and a file named twice is taken once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Input>, Exit> {
    let mut out: Vec<Input> = Vec::new();
    let push = |i: Input, out: &mut Vec<Input>| {
        if !out.contains(&i) {
            out.push(i);
        }
    };
    let mut stdin_seen = false;
    for path in paths {
        if path.as_os_str() == "-" {
            if stdin_seen {
                eprintln!("error: `-` (standard input) is named twice");
                return Err(Exit::Usage);
            }
            stdin_seen = true;
            push(Input::Stdin, &mut out);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                let found = under(path)?;
                if found.is_empty() {
                    eprintln!("note: no `*.funnel` files under `{}`", path.display());
                }
                for f in found {
                    push(Input::File(f), &mut out);
                }
            }
            Ok(_) => push(Input::File(path.clone()), &mut out),
            Err(e) => {
                eprintln!(
                    "error: cannot read `{}`: {}",
                    path.display(),
                    funnelc::pipeline::io_reason(&e)
                );
                return Err(Exit::Usage);
            }
        }
    }
    Ok(out)
}

/// Every `*.funnel` file under a folder, sorted.
fn under(dir: &Path) -> Result<Vec<PathBuf>, Exit> {
    let mut files = Vec::new();
    // `.gitignore` counts even outside a git repository: a project copied out of one (or not
    // yet committed) is walked the same way.
    let walk = ignore::WalkBuilder::new(dir)
        .require_git(false)
        .sort_by_file_path(|a, b| a.cmp(b))
        .build();
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot read under `{}`: {e}", dir.display());
                return Err(Exit::Usage);
            }
        };
        let is_file = entry
            .file_type()
            .is_some_and(|t| t.is_file() || t.is_symlink());
        if is_file && entry.path().extension().is_some_and(|x| x == "funnel") {
            // Under `.`, `rules/a.funnel` rather than `./rules/a.funnel`.
            let path = entry.into_path();
            let path = match path.strip_prefix(".") {
                Ok(rel) if dir == Path::new(".") => rel.to_path_buf(),
                _ => path,
            };
            files.push(path);
        }
    }
    Ok(files)
}

/// Standard input as text, for `-`.
pub fn read_stdin() -> Result<Vec<u8>, Exit> {
    use std::io::Read;
    let mut bytes = Vec::new();
    match std::io::stdin().lock().read_to_end(&mut bytes) {
        Ok(_) => Ok(bytes),
        Err(e) => {
            eprintln!(
                "error: cannot read standard input: {}",
                funnelc::pipeline::io_reason(&e)
            );
            Err(Exit::Usage)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn folders_give_their_rule_files_sorted_and_ignored_ones_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("b/deep")).unwrap();
        std::fs::create_dir_all(p.join("out")).unwrap();
        for f in [
            "z.funnel",
            "a.funnel",
            "b/deep/c.funnel",
            "out/gen.funnel",
            "notes.txt",
        ] {
            std::fs::write(p.join(f), "").unwrap();
        }
        std::fs::write(p.join(".gitignore"), "out/\n").unwrap();
        let got = discover(&[p.to_path_buf(), p.join("a.funnel"), "-".into()]).unwrap();
        let rel: Vec<String> = got
            .iter()
            .map(|i| match i {
                Input::File(f) => f.strip_prefix(p).unwrap().display().to_string(),
                Input::Stdin => "-".into(),
            })
            .collect();
        assert_eq!(rel, ["a.funnel", "b/deep/c.funnel", "z.funnel", "-"]);
        assert_eq!(discover(&[p.join("missing")]), Err(Exit::Usage));
        assert_eq!(discover(&["-".into(), "-".into()]), Err(Exit::Usage));
    }
}
