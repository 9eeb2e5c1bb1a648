//! Name lookups for the readers: event types by hash, trait paths as a tree of keys.
//!
//! A reader meets an event type and a handful of trait keys for every event and lead, so these
//! are built once per plan and cost one hash and one comparison per lookup, with no
//! allocation.

/// Event type names → index, in an open-addressing table keyed by an FNV-1a hash.
#[derive(Clone, Debug, Default)]
pub struct NameTable {
    names: Vec<Box<[u8]>>,
    /// `slots[h & mask]`: index into `names` + 1, 0 for empty.
    slots: Vec<u32>,
    mask: usize,
}

fn fnv1a(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in b {
        h ^= u64::from(c);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl NameTable {
    /// `names[i]` gets index `i`; a repeated name keeps its first index.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<Box<[u8]>> = names.into_iter().map(|n| n.as_bytes().into()).collect();
        // At most a quarter full, so probes are short.
        let size = (names.len() * 4).next_power_of_two().max(8);
        let mask = size - 1;
        let mut slots = vec![0u32; size];
        for (i, n) in names.iter().enumerate() {
            let mut h = fnv1a(n) as usize & mask;
            loop {
                match slots[h] {
                    0 => {
                        slots[h] = i as u32 + 1;
                        break;
                    }
                    j if *names[j as usize - 1] == **n => break,
                    _ => h = (h + 1) & mask,
                }
            }
        }
        NameTable { names, slots, mask }
    }

    pub fn get(&self, name: &[u8]) -> Option<u32> {
        if self.names.is_empty() {
            return None;
        }
        let mut h = fnv1a(name) as usize & self.mask;
        loop {
            match *self.slots.get(h)? {
                0 => return None,
                j => {
                    let i = j - 1;
                    if **self.names.get(i as usize)? == *name {
                        return Some(i);
                    }
                }
            }
            h = (h + 1) & self.mask;
        }
    }
}

/// Declared trait paths as a tree of keys: `company.employees` is the key `employees` under
/// the key `company` under the root (node 0).
#[derive(Clone, Debug, Default)]
pub struct TraitTree {
    nodes: Vec<Vec<TraitKey>>,
}

#[derive(Clone, Debug)]
pub struct TraitKey {
    pub key: Box<str>,
    /// The trait declared at exactly this path.
    pub slot: Option<usize>,
    /// The node of the traits declared below this path.
    pub child: Option<usize>,
}

impl TraitTree {
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut t = TraitTree {
            nodes: vec![Vec::new()],
        };
        for (slot, path) in paths.into_iter().enumerate() {
            let mut node = 0;
            let mut parts = path.split('.').peekable();
            while let Some(part) = parts.next() {
                let last = parts.peek().is_none();
                let at = match t.nodes[node].iter().position(|k| &*k.key == part) {
                    Some(i) => i,
                    None => {
                        t.nodes[node].push(TraitKey {
                            key: part.into(),
                            slot: None,
                            child: None,
                        });
                        t.nodes[node].len() - 1
                    }
                };
                if last {
                    t.nodes[node][at].slot.get_or_insert(slot);
                } else {
                    let child = match t.nodes[node][at].child {
                        Some(c) => c,
                        None => {
                            t.nodes.push(Vec::new());
                            let c = t.nodes.len() - 1;
                            t.nodes[node][at].child = Some(c);
                            c
                        }
                    };
                    node = child;
                }
            }
        }
        t
    }

    /// Whether some trait is declared strictly below the dotted path `prefix`.
    pub fn has_below(&self, prefix: &str) -> bool {
        let mut node = 0;
        let mut last = None;
        for part in prefix.split('.') {
            let Some(k) = self.get(node, part) else {
                return false;
            };
            last = k.child;
            match k.child {
                Some(c) => node = c,
                None => node = usize::MAX,
            }
        }
        last.is_some()
    }

    /// The entry for `key` under `node`.
    pub fn get(&self, node: usize, key: &str) -> Option<&TraitKey> {
        self.nodes.get(node)?.iter().find(|k| &*k.key == key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_and_others_are_not() {
        let names: Vec<String> = (0..200).map(|i| format!("event.{i}")).collect();
        let t = NameTable::new(names.iter().map(String::as_str));
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.get(n.as_bytes()), Some(i as u32));
        }
        assert_eq!(t.get(b"event.200"), None);
        assert_eq!(t.get(b""), None);
        assert_eq!(NameTable::new([]).get(b"x"), None);
        assert_eq!(NameTable::new(["a", "a"]).get(b"a"), Some(0));
    }

    #[test]
    fn trait_paths_form_a_tree() {
        let t = TraitTree::new(["source", "company.employees", "company.region", "company"]);
        assert_eq!(t.get(0, "source").unwrap().slot, Some(0));
        let company = t.get(0, "company").unwrap();
        assert_eq!(company.slot, Some(3));
        let c = company.child.unwrap();
        assert_eq!(t.get(c, "employees").unwrap().slot, Some(1));
        assert_eq!(t.get(c, "region").unwrap().slot, Some(2));
        assert!(t.get(c, "name").is_none());
        assert!(t.get(0, "employees").is_none());
        assert!(t.has_below("company"));
        assert!(!t.has_below("company.employees"));
        assert!(!t.has_below("source"));
        assert!(!t.has_below("employees"));
        assert!(!t.has_below(""));
        assert!(!t.has_below("company..employees"));
    }
}
