//! Name lookups for the readers: event types by hash, trait paths as a tree of keys.
//!
//! A reader meets an event type and a handful of trait keys for every event and lead, so these
//! are built once per plan and cost one hash and one comparison per lookup, with no
//! allocation.

/// A short name as two overlapping little-endian words and its length. Equal names have equal
/// keys; for names of at most 16 bytes the words cover every byte, so equal keys mean equal
/// names and no byte comparison is needed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Key {
    lo: u64,
    hi: u64,
    len: usize,
}

impl Key {
    #[inline(always)]
    pub fn of(b: &[u8]) -> Key {
        let n = b.len();
        // Two overlapping loads of the widest size that fits; bytes read twice land in the
        // same place both times, so or-ing them is exact.
        let lo = match n {
            8.. => {
                let (Some(lo), Some(hi)) = (b.first_chunk::<8>(), b.last_chunk::<8>()) else {
                    return Key::default();
                };
                return Key {
                    lo: u64::from_le_bytes(*lo),
                    hi: u64::from_le_bytes(*hi),
                    len: n,
                };
            }
            4..=7 => match (b.first_chunk::<4>(), b.last_chunk::<4>()) {
                (Some(a), Some(z)) => {
                    u64::from(u32::from_le_bytes(*a))
                        | u64::from(u32::from_le_bytes(*z)) << (8 * (n - 4))
                }
                _ => 0,
            },
            2..=3 => match (b.first_chunk::<2>(), b.last_chunk::<2>()) {
                (Some(a), Some(z)) => {
                    u64::from(u16::from_le_bytes(*a))
                        | u64::from(u16::from_le_bytes(*z)) << (8 * (n - 2))
                }
                _ => 0,
            },
            1 => b.first().map_or(0, |&c| u64::from(c)),
            _ => 0,
        };
        Key { lo, hi: 0, len: n }
    }

    /// Whether the key alone tells the name.
    #[inline]
    pub fn exact(&self) -> bool {
        self.len <= 16
    }

    /// `name`, whose key is `self`, is `other` (with its key `k`).
    #[inline]
    pub fn same(&self, name: &[u8], k: &Key, other: &[u8]) -> bool {
        self == k && (self.exact() || name == other)
    }

    #[inline]
    fn hash(&self) -> usize {
        let h = (self.lo ^ self.hi.rotate_left(29) ^ self.len as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 32) as usize
    }
}

/// How a name starts a member of compact JSON, `"name":`, with its [`Key`]: the fast reader
/// matches the name it expects whole, two words against the key, instead of reading it.
#[derive(Clone, Debug)]
pub struct Head {
    key: Key,
    text: Box<[u8]>,
}

impl Head {
    pub fn of(name: &str) -> Head {
        let text = format!("{}:", serde_json::Value::from(name)).into_bytes();
        Head {
            key: Key::of(&text),
            text: text.into(),
        }
    }

    /// Its length, when `b` has it at `i`.
    #[inline(always)]
    pub fn at(&self, b: &[u8], i: usize) -> Option<usize> {
        let w = b.get(i..i + self.text.len())?;
        let hit = Key::of(w) == self.key && (self.key.exact() || *w == *self.text);
        hit.then_some(w.len())
    }
}

/// Event type names → index, in an open-addressing table keyed by [`Key`].
#[derive(Clone, Debug, Default)]
pub struct NameTable {
    names: Vec<(Key, Box<[u8]>)>,
    /// `slots[h & mask]`: index into `names` + 1, 0 for empty.
    slots: Vec<u32>,
    mask: usize,
}

impl NameTable {
    /// `names[i]` gets index `i`; a repeated name keeps its first index.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<(Key, Box<[u8]>)> = names
            .into_iter()
            .map(|n| (Key::of(n.as_bytes()), n.as_bytes().into()))
            .collect();
        // At most a quarter full, so probes are short.
        let size = (names.len() * 4).next_power_of_two().max(8);
        let mask = size - 1;
        let mut slots = vec![0u32; size];
        for (i, (k, n)) in names.iter().enumerate() {
            let mut h = k.hash() & mask;
            loop {
                match slots[h] {
                    0 => {
                        slots[h] = i as u32 + 1;
                        break;
                    }
                    j if *names[j as usize - 1].1 == **n => break,
                    _ => h = (h + 1) & mask,
                }
            }
        }
        NameTable { names, slots, mask }
    }

    #[inline(always)]
    pub fn get(&self, name: &[u8]) -> Option<u32> {
        if self.names.is_empty() {
            return None;
        }
        let k = Key::of(name);
        let mut h = k.hash() & self.mask;
        loop {
            match *self.slots.get(h)? {
                0 => return None,
                j => {
                    let i = j - 1;
                    let (key, n) = self.names.get(i as usize)?;
                    if k.same(name, key, n) {
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
    k: Key,
    /// How the key starts a member of compact JSON.
    pub head: Head,
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
        // Where each (node, key) went, so that a schema of many thousand traits is built in
        // linear time, not by a search of the node's keys for each new path.
        let mut index: std::collections::HashMap<(usize, &str), usize> =
            std::collections::HashMap::new();
        for (slot, path) in paths.into_iter().enumerate() {
            let mut node = 0;
            let mut parts = path.split('.').peekable();
            while let Some(part) = parts.next() {
                let last = parts.peek().is_none();
                let at = match index.get(&(node, part)) {
                    Some(&i) => i,
                    None => {
                        index.insert((node, part), t.nodes[node].len());
                        t.nodes[node].push(TraitKey {
                            key: part.into(),
                            k: Key::of(part.as_bytes()),
                            head: Head::of(part),
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
    #[inline]
    pub fn get(&self, node: usize, key: &str) -> Option<&TraitKey> {
        self.position(node, key).map(|(_, t)| t)
    }

    /// The entry for `key` under `node`, with its place among the node's keys.
    #[inline]
    pub fn position(&self, node: usize, key: &str) -> Option<(usize, &TraitKey)> {
        let k = Key::of(key.as_bytes());
        self.nodes
            .get(node)?
            .iter()
            .enumerate()
            .find(|(_, t)| k.same(key.as_bytes(), &t.k, t.key.as_bytes()))
    }

    /// The `i`th key under `node`.
    #[inline]
    pub fn entry(&self, node: usize, i: usize) -> Option<&TraitKey> {
        self.nodes.get(node)?.get(i)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_short_names_apart() {
        let names = [
            "",
            "a",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "page.viewed",
            "page.viewee",
            "a\u{0}",
            "a\u{0}\u{0}",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "bbcdefghijklmnop",
        ];
        for a in names {
            for b in names {
                let (ka, kb) = (Key::of(a.as_bytes()), Key::of(b.as_bytes()));
                assert_eq!(
                    ka.same(a.as_bytes(), &kb, b.as_bytes()),
                    a == b,
                    "{a:?} {b:?}"
                );
            }
        }
        // Longer names share keys when only their middles differ: then the bytes decide.
        let (a, b) = ("abcdefgh-X-ijklmnop", "abcdefgh-Y-ijklmnop");
        let (ka, kb) = (Key::of(a.as_bytes()), Key::of(b.as_bytes()));
        assert_eq!(ka, kb);
        assert!(!ka.same(a.as_bytes(), &kb, b.as_bytes()));
        let t = NameTable::new([a, b]);
        assert_eq!(
            (t.get(a.as_bytes()), t.get(b.as_bytes())),
            (Some(0), Some(1))
        );
    }

    #[test]
    fn keys_are_the_bytes_in_order() {
        // The loads overlap for most lengths: the key must still be the plain byte packing.
        let text = b"abcdefghijklmnopqrstuvwxyz";
        for n in 0..=16 {
            let b = &text[..n];
            let mut lo = 0u64;
            let mut hi = 0u64;
            for (i, &c) in b.iter().enumerate().take(8) {
                lo |= u64::from(c) << (8 * i);
            }
            if n >= 8 {
                for (i, &c) in b[n - 8..].iter().enumerate() {
                    hi |= u64::from(c) << (8 * i);
                }
            }
            assert_eq!(Key::of(b), Key { lo, hi, len: n }, "{n}");
        }
    }

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
