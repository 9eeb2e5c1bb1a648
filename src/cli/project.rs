//! `funnel.toml`, the project file committed next to the rules: where the rule files, test
//! files, stored snapshots and lead data are, and the defaults `eval`, `explain`, `report`,
//! `diff` and `test` take when no flag says otherwise (a flag always wins). Found in the current folder or the
//! nearest one above it. Every key is known: a misspelt one is an error, never ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Exit;

pub const FILE: &str = "funnel.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub paths: Paths,
    #[serde(default)]
    pub defaults: Defaults,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    /// Folders and files of rule files (and test files beside them): what `check` and `test`
    /// take when given no path.
    #[serde(default = "rules_default")]
    pub rules: Vec<String>,
    /// More folders and files of test files, for `test`.
    #[serde(default)]
    pub tests: Vec<String>,
    /// The folder stored snapshots are kept in (else `snapshots/` beside the file that
    /// declares each).
    pub snapshots: Option<String>,
    /// Shared fixture files, and folders of them: `.funnel` files of `fixture` declarations
    /// any test file of the project may start from. One path or a list.
    #[serde(default, deserialize_with = "one_or_many")]
    pub fixtures: Vec<String>,
    /// The project's lead data (a sample, last quarter's export): what `eval`, `explain`,
    /// `report` and `diff` read when `--leads` is not given.
    pub leads: Option<String>,
    /// With CSV leads named by `leads`: their events file, when `--events` is not given.
    pub events: Option<String>,
}

/// A path, or a list of them.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Paths {
        One(String),
        Many(Vec<String>),
    }
    match Paths::deserialize(d) {
        Ok(Paths::One(p)) => Ok(vec![p]),
        Ok(Paths::Many(v)) => Ok(v),
        Err(_) => Err(serde::de::Error::custom(
            "`fixtures` is a path or a list of paths (files or folders, relative to funnel.toml)",
        )),
    }
}

fn rules_default() -> Vec<String> {
    vec!["rules".into()]
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            rules: rules_default(),
            tests: Vec::new(),
            snapshots: None,
            fixtures: Vec::new(),
            leads: None,
            events: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// `--as-of` when not given.
    pub as_of: Option<String>,
    /// `--input-format` when not given: `jsonl`, `segment` or `csv`.
    pub input_format: Option<InFormat>,
    /// Names in the data → names in the schema, for Segment input when `--rename` is not given.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
}

/// The formats of lead data, as `--input-format` and `[defaults] input_format` name them.
#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InFormat {
    /// One lead per line: {"id", "traits", "events"}
    Jsonl,
    /// Segment-spec `identify` and `track` calls, one per line, leads interleaved
    Segment,
    /// A leads CSV (`id` and trait columns) plus `--events` (lead_id, type, at, properties)
    Csv,
}

impl From<InFormat> for funnelc::pipeline::Format {
    fn from(f: InFormat) -> Self {
        match f {
            InFormat::Jsonl => funnelc::pipeline::Format::Jsonl,
            InFormat::Segment => funnelc::pipeline::Format::Segment,
            InFormat::Csv => funnelc::pipeline::Format::Csv,
        }
    }
}

/// A project: its folder and its file.
#[derive(Debug)]
pub struct Project {
    pub dir: PathBuf,
    pub config: Config,
}

impl Project {
    /// The project of the current folder: `funnel.toml` there or in the nearest folder above.
    /// `Ok(None)` outside any project; a file that does not read is a usage error, said here.
    pub fn find() -> Result<Option<Project>, Exit> {
        let Ok(start) = std::env::current_dir() else {
            return Ok(None);
        };
        let Some(dir) = start.ancestors().find(|d| d.join(FILE).is_file()) else {
            return Ok(None);
        };
        Project::load(dir).map(Some)
    }

    pub fn load(dir: &Path) -> Result<Project, Exit> {
        // Relative to the current folder, so paths in messages read as the user would type
        // them.
        let dir = match std::env::current_dir() {
            Ok(cwd) => pathdiff(dir, &cwd),
            Err(_) => dir.to_path_buf(),
        };
        let path = dir.join(FILE);
        let text = super::read_text(&path)?;
        let config: Config = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    format!(
                        ":{}",
                        text[..s.start.min(text.len())].lines().count().max(1)
                    )
                })
                .unwrap_or_default();
            eprintln!("error: {}{at}: {}", path.display(), e.message());
            Exit::Usage
        })?;
        Ok(Project { dir, config })
    }

    /// A path of the file, as the commands take it.
    pub fn path(&self, p: &str) -> PathBuf {
        if self.dir.as_os_str().is_empty() {
            PathBuf::from(p)
        } else {
            self.dir.join(p)
        }
    }

    /// The `[paths] rules` folders and files: what `check` takes with no path given.
    pub fn rule_paths(&self) -> Vec<PathBuf> {
        self.config
            .paths
            .rules
            .iter()
            .map(|p| self.path(p))
            .collect()
    }

    /// The `[paths] fixtures` files and folders.
    pub fn fixture_paths(&self) -> Vec<PathBuf> {
        self.config
            .paths
            .fixtures
            .iter()
            .map(|p| self.path(p))
            .collect()
    }

    /// What `test` runs with no path given: the rules and tests folders.
    pub fn test_paths(&self) -> Vec<PathBuf> {
        let c = &self.config.paths;
        c.rules
            .iter()
            .chain(&c.tests)
            .map(|p| self.path(p))
            .collect()
    }

    pub fn snapshots(&self) -> Option<PathBuf> {
        self.config.paths.snapshots.as_deref().map(|p| self.path(p))
    }

    /// The shared fixture files `[paths] fixtures` names (every `*.funnel` under a folder),
    /// read and checked on their own; with the path of each, canonical, so that the commands
    /// that walk folders take them for what they are. A path that does not exist is a usage
    /// error, said here.
    pub fn shared_fixtures(&self) -> Result<Fixtures, Exit> {
        let mut paths = Vec::new();
        for path in self.fixture_paths() {
            if let Err(e) = std::fs::metadata(&path) {
                eprintln!(
                    "error: {}: `[paths] fixtures` names `{}`, which cannot be read: {}",
                    self.path(FILE).display(),
                    path.display(),
                    funnelc::pipeline::io_reason(&e)
                );
                return Err(Exit::Usage);
            }
            paths.push(path);
        }
        let mut files = Vec::new();
        let mut bad = Vec::new();
        let mut keys = Vec::new();
        for input in super::discover::discover(&paths)? {
            let super::discover::Input::File(path) = input else {
                continue;
            };
            let source = match super::read_source(&path)? {
                super::Read::Ok(s) => s,
                super::Read::Bad(s, d) => {
                    bad.push((files.len(), d));
                    s
                }
            };
            keys.push(super::discover::key(&path));
            files.push((source.name, source.text));
        }
        let mut shared = funnelc::check::SharedFixtures::new(files);
        for (i, d) in bad {
            shared.files[i].diagnostics.insert(0, d);
        }
        Ok(Fixtures { shared, keys })
    }
}

/// The rule file and the lead data a command runs on: as named on the command line, and
/// where it names none, the project's (`funnelc eval` in a project runs its one rule file on
/// its `[paths] leads`).
#[derive(Debug)]
pub struct Given {
    pub rules: PathBuf,
    pub leads: PathBuf,
    pub events: Option<PathBuf>,
    /// The project here, if any: its defaults for the data flags.
    pub project: Option<Project>,
}

/// Fills in from the project what the command line leaves out of `rules` (`None`: the
/// project's one rule file), `leads` and `events`; what was taken from it is said in a note
/// on standard error, so the output never hides which files it came from. `usage` shows the
/// user how to name them (`funnelc eval RULES --leads DATA`).
pub fn settle(
    rules: Option<&Path>,
    leads: Option<&Path>,
    events: Option<&Path>,
    usage: &str,
) -> Result<Given, Exit> {
    // Found once per run: the data flags' defaults come from it too.
    let project = Project::find()?;
    let mut taken = Vec::new();
    let rules = match rules {
        Some(r) => r.to_path_buf(),
        None => {
            let Some(p) = &project else {
                eprintln!(
                    "error: no rule file named, and no {FILE} here or above to take one from"
                );
                eprintln!("  help: `{usage}`");
                return Err(Exit::Usage);
            };
            // Where the project gives the data too, naming the rule file is all it takes.
            let usage = match (leads, &p.config.paths.leads) {
                (None, Some(_)) => usage.replacen(" --leads DATA", "", 1),
                _ => usage.to_string(),
            };
            let r = p.one_rule_file(&usage)?;
            taken.push(format!("rules {}", r.display()));
            r
        }
    };
    let (leads, events) = match leads {
        Some(l) => (l.to_path_buf(), events.map(Path::to_path_buf)),
        None => {
            let named = project.as_ref().and_then(|p| {
                let l = p.config.paths.leads.as_deref()?;
                Some((p, l))
            });
            let Some((p, l)) = named else {
                eprintln!("error: no lead data named: pass --leads DATA");
                eprintln!(
                    "  help: a project names its usual data in {FILE}: `[paths] leads = \"data/leads.jsonl\"`"
                );
                return Err(Exit::Usage);
            };
            let leads = p.named_file("leads", l)?;
            taken.push(format!("leads {}", leads.display()));
            let events = match (events, &p.config.paths.events) {
                (Some(e), _) => Some(e.to_path_buf()),
                (None, Some(e)) => {
                    let e = p.named_file("events", e)?;
                    taken.push(format!("events {}", e.display()));
                    Some(e)
                }
                (None, None) => None,
            };
            (leads, events)
        }
    };
    if let Some(p) = &project {
        if !taken.is_empty() {
            eprintln!(
                "note: from {}: {}",
                p.path(FILE).display(),
                taken.join(", ")
            );
        }
    }
    Ok(Given {
        rules,
        leads,
        events,
        project,
    })
}

impl Project {
    /// A file `[paths] KEY` names, which must exist (said here, naming the key).
    fn named_file(&self, key: &str, p: &str) -> Result<PathBuf, Exit> {
        let path = self.path(p);
        match std::fs::metadata(&path) {
            Ok(_) => Ok(path),
            Err(e) => {
                eprintln!(
                    "error: {}: `[paths] {key}` names `{}`, which cannot be read: {}",
                    self.path(FILE).display(),
                    path.display(),
                    funnelc::pipeline::io_reason(&e)
                );
                Err(Exit::Usage)
            }
        }
    }

    /// The rule file under `[paths] rules` when there is exactly one (test files and shared
    /// fixture files are not rule files); none or several is a usage error, said here.
    fn one_rule_file(&self, usage: &str) -> Result<PathBuf, Exit> {
        let paths = self.rule_paths();
        let fixtures: Vec<PathBuf> = self
            .fixture_paths()
            .into_iter()
            .filter(|f| f.exists())
            .collect();
        let fixtures: Vec<PathBuf> = super::discover::discover(&fixtures)?
            .iter()
            .filter_map(|i| match i {
                super::discover::Input::File(f) => Some(super::discover::key(f)),
                super::discover::Input::Stdin => None,
            })
            .collect();
        let mut found = Vec::new();
        for input in super::discover::discover(&paths)? {
            let super::discover::Input::File(path) = input else {
                continue;
            };
            if fixtures.contains(&super::discover::key(&path)) {
                continue;
            }
            // A file that cannot be read or is not text counts as a rule file: running it
            // says what is wrong with it.
            let holds_rules = std::fs::read_to_string(&path)
                .map_or(true, |t| funnelc::syntax::parse(&t).file.holds_rules());
            if holds_rules {
                found.push(path);
            }
        }
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => {
                eprintln!(
                    "error: no rule file named, and {}'s `[paths] rules` holds none",
                    self.path(FILE).display()
                );
                eprintln!("  help: `{usage}`");
                Err(Exit::Usage)
            }
            many => {
                let names: Vec<String> = many.iter().map(|p| p.display().to_string()).collect();
                eprintln!(
                    "error: no rule file named, and the project has {}: {}",
                    many.len(),
                    names.join(", ")
                );
                eprintln!(
                    "  help: name one: `{}`",
                    usage.replacen("RULES", &names[0], 1)
                );
                Err(Exit::Usage)
            }
        }
    }
}

/// The project's shared fixtures, and where their files are (canonical paths).
#[derive(Default)]
pub struct Fixtures {
    pub shared: funnelc::check::SharedFixtures,
    pub keys: Vec<PathBuf>,
}

impl Fixtures {
    /// The shared fixtures of the project here, if there is one (none outside a project).
    pub fn of(project: Option<&Project>) -> Result<Fixtures, Exit> {
        match project {
            Some(p) => p.shared_fixtures(),
            None => Ok(Fixtures::default()),
        }
    }

    /// Whether `path` is one of the shared fixture files.
    pub fn holds(&self, path: &Path) -> bool {
        self.keys.contains(&super::discover::key(path))
    }

    /// The shared fixtures, when the project has any.
    pub fn get(&self) -> Option<&funnelc::check::SharedFixtures> {
        (!self.keys.is_empty()).then_some(&self.shared)
    }
}

/// `dir` relative to `cwd` when it is `cwd` or above it (`..`, `../..`); else as it is.
fn pathdiff(dir: &Path, cwd: &Path) -> PathBuf {
    let mut up = PathBuf::new();
    for a in cwd.ancestors() {
        if a == dir {
            return up;
        }
        up.push("..");
    }
    dir.to_path_buf()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_key_is_known() {
        let c: Config = toml::from_str(
            "[paths]\nrules = [\"r\"]\nsnapshots = \"s\"\nfixtures = \"f\"\nleads = \"l.csv\"\nevents = \"e.csv\"\n[defaults]\nas_of = \"2025-03-31\"\ninput_format = \"segment\"\n[defaults.rename]\n\"Demo Requested\" = \"demo.requested\"\n",
        )
        .unwrap();
        assert_eq!(c.paths.rules, ["r"]);
        assert_eq!(c.paths.fixtures, ["f"]);
        assert_eq!(c.paths.leads.as_deref(), Some("l.csv"));
        assert_eq!(c.paths.events.as_deref(), Some("e.csv"));
        let many: Config = toml::from_str("[paths]\nfixtures = [\"a\", \"b.funnel\"]\n").unwrap();
        assert_eq!(many.paths.fixtures, ["a", "b.funnel"]);
        let e = toml::from_str::<Config>("[paths]\nfixtures = 3\n").unwrap_err();
        assert!(e.message().contains("a path or a list of paths"), "{e}");
        assert_eq!(c.defaults.rename["Demo Requested"], "demo.requested");
        assert!(toml::from_str::<Config>("[paths]\nrule = [\"r\"]\n").is_err());
        assert!(toml::from_str::<Config>("[defaults]\ninput_format = \"xml\"\n").is_err());
        let empty: Config = toml::from_str("").unwrap();
        assert_eq!(empty.paths.rules, ["rules"]);
    }

    #[test]
    fn the_project_folder_relative_to_where_one_stands() {
        assert_eq!(
            pathdiff(Path::new("/a/b"), Path::new("/a/b")),
            PathBuf::new()
        );
        assert_eq!(
            pathdiff(Path::new("/a"), Path::new("/a/b/c")),
            PathBuf::from("../..")
        );
        assert_eq!(
            pathdiff(Path::new("/x"), Path::new("/a")),
            PathBuf::from("/x")
        );
    }
}
