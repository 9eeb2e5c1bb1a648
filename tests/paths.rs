//! `check`, `fmt` and `test` on folders and on standard input, and `fmt` keeping a file's line
//! endings (#13 item 12).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const FORMATTED: &str = "schema {\n  event x\n}\n\nstage A {\n  enter when x\n}\n";

fn run(dir: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_funnelc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fmt_of_standard_input_writes_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(
        dir.path(),
        &["fmt", "-"],
        "stage   A { enter when x }\nschema { event x }\n",
    );
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "stage A {\n  enter when x\n}\n\nschema {\n  event x\n}\n"
    );
    // Already formatted: the same text back, for an editor's format-on-save.
    let (code, stdout, _) = run(dir.path(), &["fmt", "-"], FORMATTED);
    assert_eq!((code, stdout.as_str()), (0, FORMATTED));
    let (code, stdout, _) = run(
        dir.path(),
        &["fmt", "--check", "-"],
        "stage   A { enter when x }\n",
    );
    assert_eq!(code, 1);
    assert!(stdout.starts_with("--- <stdin>\n"), "{stdout}");
    // And `check -` reads the rules from standard input.
    let (code, stdout, _) = run(dir.path(), &["check", "-"], "stage A { enter when y }\n");
    assert_eq!(code, 1);
    assert!(stdout.contains("<stdin>: 1 error"), "{stdout}");
}

#[test]
fn fmt_keeps_crlf_and_names_mixed_endings() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let crlf = FORMATTED.replace('\n', "\r\n");
    std::fs::write(p.join("win.funnel"), &crlf).unwrap();
    let (code, stdout, _) = run(p, &["fmt", "--check", "win.funnel"], "");
    assert_eq!((code, stdout.as_str()), (0, ""));
    // A messy CRLF file is formatted with CRLF.
    std::fs::write(
        p.join("win.funnel"),
        "schema { event x }\r\nstage A { enter when x }\r\n",
    )
    .unwrap();
    let (code, _, _) = run(p, &["fmt", "win.funnel"], "");
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(p.join("win.funnel")).unwrap(), crlf);
    // One CRLF line in an LF file: only the endings differ, and that is all `--check` says.
    let mixed = FORMATTED.replacen("  event x\n", "  event x\r\n", 1);
    std::fs::write(p.join("mixed.funnel"), &mixed).unwrap();
    let (code, stdout, _) = run(p, &["fmt", "--check", "mixed.funnel"], "");
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "mixed.funnel: only line endings differ (they are mixed; fmt writes LF throughout, as the first line has)\n"
    );
    run(p, &["fmt", "mixed.funnel"], "");
    assert_eq!(
        std::fs::read_to_string(p.join("mixed.funnel")).unwrap(),
        FORMATTED
    );
}

#[test]
fn folders_give_every_rule_file_under_them_but_the_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    for (name, text) in [
        ("rules/a.funnel", FORMATTED),
        (
            "rules/deep/b.funnel",
            "stage   A { enter when x }\nschema { event x }\n",
        ),
        ("rules/build/gen.funnel", "not a rule file at all"),
        ("rules/.gitignore", "build/\n"),
    ] {
        std::fs::create_dir_all(p.join(name).parent().unwrap()).unwrap();
        std::fs::write(p.join(name), text).unwrap();
    }
    let (code, stdout, _) = run(p, &["check", "rules"], "");
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout, "rules/a.funnel: ok\nrules/deep/b.funnel: ok\n");
    let (code, stdout, _) = run(p, &["fmt", "--check", "rules"], "");
    assert_eq!(code, 1);
    assert!(stdout.starts_with("--- rules/deep/b.funnel\n"), "{stdout}");
    assert!(!stdout.contains("a.funnel"), "{stdout}");
    let (code, _, stderr) = run(p, &["fmt", "rules"], "");
    assert_eq!(code, 0);
    assert_eq!(stderr, "formatted rules/deep/b.funnel\n");
    // A folder without rule files has nothing to check: not an error, but said.
    std::fs::create_dir_all(p.join("empty")).unwrap();
    let (code, stdout, stderr) = run(p, &["check", "empty"], "");
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert_eq!(
        stderr,
        "note: no `*.funnel` files under `empty`
"
    );
}
